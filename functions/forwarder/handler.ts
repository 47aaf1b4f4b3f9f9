// Placeholder while the forwarder core lands (issue 2); the CDK stack bundles this entry.
export const handler = async (): Promise<never> => {
  throw new Error('forwarder: not built yet');
};
