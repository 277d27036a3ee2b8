//go:build race

package tmpl

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// allocation counts are higher.
const raceEnabled = true
