// The SDK's java-interop tests again, against a Bolide NameServer + broker child process instead of
// Apache RocketMQ (see ../broker-under-test.ts): Java client and SDK exchange messages through Bolide.
process.env['BOLIDE_SDK_TARGET'] = 'bolide';
await import('../java-interop.test.js');
