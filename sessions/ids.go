package sessions

import (
	"crypto/rand"
	"io"
	"math/big"
	"strconv"
)

var idAdjectives = []string{"amber", "briny", "brisk", "calm", "clear", "cool", "crisp", "dawn", "delta", "ember",
	"faint", "fast", "fresh", "gentle", "glow", "good", "grand", "keen", "kind", "lucky", "marine", "mellow", "mild",
	"neat", "nimble", "nova", "oceanic", "plaid", "quick", "quiet", "rapid", "salty", "sharp", "swift", "tender",
	"tidal", "tidy", "tide", "vivid", "warm", "wild", "young"}

var idNouns = []string{"atlas", "basil", "bison", "bloom", "breeze", "canyon", "cedar", "claw", "cloud", "comet",
	"coral", "cove", "crest", "crustacean", "daisy", "dune", "ember", "falcon", "fjord", "forest", "glade", "gulf",
	"harbor", "haven", "kelp", "lagoon", "lantern", "meadow", "mist", "nudibranch", "nexus", "ocean", "orbit",
	"otter", "pine", "prairie", "reef", "ridge", "river", "rook", "sable", "sage", "seaslug", "shell", "shoal",
	"shore", "slug", "summit", "tidepool", "trail", "valley", "wharf", "willow", "zephyr"}

const idSuffixChars = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID draws a free slug (docs/reference.md#session-ids). Caller holds r.mu.
func (r *Registry) newID() string {
	return newSlug(r.opts.Rand, func(id string) bool {
		_, running := r.running[id]
		_, finished := r.finished[id]
		return running || finished || r.reserved[id]
	}, func() int64 { return r.opts.Now().UnixMilli() })
}

func newSlug(rnd io.Reader, taken func(string) bool, nowMs func() int64) string {
	pick := func(words []string) string { return words[randIndex(rnd, len(words))] }
	try := func(base string) (string, bool) {
		if !taken(base) {
			return base, true
		}
		for n := 2; n <= 12; n++ {
			if id := base + "-" + strconv.Itoa(n); !taken(id) {
				return id, true
			}
		}
		return "", false
	}
	for range 12 {
		if id, ok := try(pick(idAdjectives) + "-" + pick(idNouns)); ok {
			return id
		}
	}
	for range 12 {
		if id, ok := try(pick(idAdjectives) + "-" + pick(idNouns) + "-" + pick(idNouns)); ok {
			return id
		}
	}
	base := pick(idAdjectives) + "-" + pick(idNouns) + "-" + pick(idNouns) + "-"
	for range 3 {
		base += string(idSuffixChars[randIndex(rnd, len(idSuffixChars))])
	}
	if !taken(base) {
		return base
	}
	return base + "-" + strconv.FormatInt(nowMs(), 36)
}

// randIndex draws uniformly from [0, n); a failing source falls back to crypto/rand.
func randIndex(rnd io.Reader, n int) int {
	v, err := rand.Int(rnd, big.NewInt(int64(n)))
	if err != nil {
		v, _ = rand.Int(rand.Reader, big.NewInt(int64(n)))
	}
	return int(v.Int64())
}
