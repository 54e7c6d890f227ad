// tap's coverage check applies to the plugin only (kept at 100 %); the example and test helpers
// are exercised by their own tests but not held to a coverage figure.
export default function coverageMap () {
  return ['plugin/**']
}
