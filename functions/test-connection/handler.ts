// Placeholder while the test-connection checks land (issue 4); the CDK stack bundles this entry.
export const handler = async (): Promise<never> => {
  throw new Error('test-connection: not built yet');
};
