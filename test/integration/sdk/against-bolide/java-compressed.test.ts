// The SDK's java-compressed tests again, against a Bolide NameServer + broker child process instead of
// Apache RocketMQ (see ../broker-under-test.ts): LZ4/ZSTD bodies from the Java client pass through Bolide.
process.env['BOLIDE_SDK_TARGET'] = 'bolide';
await import('../java-compressed.test.js');
