// The SDK's undecodable-body tests again, against a Bolide NameServer + broker child process instead of
// Apache RocketMQ (see ../broker-under-test.ts): one suite, both servers.
process.env['BOLIDE_SDK_TARGET'] = 'bolide';
await import('../undecodable-body.test.js');
