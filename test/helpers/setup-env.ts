// Loaded by jest before each test file (jest.config.js setupFiles), before any handler module:
// Powertools reads these when the logger and metrics are built. Tests that scan logs raise the
// level on the logger itself (logger.setLogLevel).
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
// The AWS SDK warns once per process that it will need Node 22 in 2027; CI runs Node 20 on purpose.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The stand-ins serve plain http and syslog on 127.0.0.1; the contract allows that only with this set.
process.env.DNIF_ALLOW_LOOPBACK_PLAINTEXT ??= '1';
