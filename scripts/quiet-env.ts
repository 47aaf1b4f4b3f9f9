// Imported first by the local scripts: Powertools reads these when the handlers load.
// The scripts print their own account; in Lambda, logs and metrics go to CloudWatch.
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
