/** The audit's metric names, shared by the function and infra/trail-audit.ts (alarms, dashboard). */
export const AuditMetric = {
  DigestsChecked: 'AuditDigestsChecked',
  LogFilesListed: 'AuditLogFilesListed',
  LogFilesDelivered: 'AuditLogFilesDelivered',
  LogFilesRepaired: 'AuditLogFilesRepaired',
  LogFilesMissing: 'AuditLogFilesMissing',
  Invalid: 'AuditInvalid',
  InProgress: 'AuditLogFilesInProgress',
  Unchecked: 'AuditLogFilesUnchecked',
  Errors: 'AuditErrors',
  NewestDigestAgeSeconds: 'AuditNewestValidDigestAgeSeconds',
  NoRecentDigest: 'AuditNoRecentDigest',
  TrailLoggingStopped: 'TrailLoggingStopped',
  TrailDeliveryErrors: 'TrailDeliveryErrors',
  TrailStatusUnavailable: 'TrailStatusUnavailable',
} as const;
