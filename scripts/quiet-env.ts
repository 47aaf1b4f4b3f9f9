// Imported first by the local scripts: Powertools reads these when the handlers load.
// The scripts print their own account; in Lambda, logs and metrics go to CloudWatch.
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
// The SDK warns that its 2027 releases need Node 22; Lambda runs 22, this machine 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The demo and the benchmark talk to stand-ins over plain http on 127.0.0.1 (never set by the stack).
process.env.DNIF_ALLOW_LOOPBACK_PLAINTEXT ??= '1';
