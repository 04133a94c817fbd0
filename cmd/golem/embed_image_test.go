package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golem-llm/golem/internal/shared"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const llavaOracleIDs = "1,478,130,14,243,img,471,76,488,57,376,69"

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestEmbedImageAndLogitsMatchOracle runs the CONTRACTS.md commands on the multimodal
// oracle: embed-image's preprocessed image is exact and its embeddings within 5e-3;
// logits with img in the ids are within 5e-3 at all 36 positions.
func TestEmbedImageAndLogitsMatchOracle(t *testing.T) {
	dir := shared.Path(t, "oracle", "multimodal")
	image := filepath.Join(dir, "image1.png")
	for _, v := range []string{"F32", "F16"} {
		t.Run(v, func(t *testing.T) {
			mmproj := filepath.Join(dir, "models", "mmproj-"+v+".gguf")
			tmp := t.TempDir()
			embd, pre := filepath.Join(tmp, "e.f32"), filepath.Join(tmp, "p.f32")
			code, stdout, errOut := golem(t, "embed-image", "--mmproj", mmproj, "--image", image, "-o", embd, "--preprocessed", pre, "-t", "2")
			require.Equal(t, 0, code, errOut)
			assert.Empty(t, stdout)
			assert.Equal(t, readFloats(t, filepath.Join(dir, "image1.preproc_chw.f32")), readFloats(t, pre))
			want := readFloats(t, filepath.Join(dir, "image1.mmproj-"+v+".image_embd.f32"))
			got := readFloats(t, embd)
			require.Len(t, got, len(want))
			assert.LessOrEqual(t, maxAbsDiff(got, want), 5e-3)

			logits := filepath.Join(tmp, "l.f32")
			code, stdout, errOut = golem(t, "logits", "-m", filepath.Join(dir, "models", "llava-text-F32.gguf"),
				"--mmproj", mmproj, "--image", image, "--tokens", llavaOracleIDs, "-o", logits, "-t", "2")
			require.Equal(t, 0, code, errOut)
			assert.Empty(t, stdout)
			want = readFloats(t, filepath.Join(dir, "image1.mmproj-"+v+".logits.f32"))
			got = readFloats(t, logits)
			require.Len(t, got, len(want)) // 36 positions × 512
			d := maxAbsDiff(got, want)
			t.Logf("logits max-abs %.3g", d)
			assert.LessOrEqual(t, d, 5e-3)
		})
	}
}

// TestImageCommandErrors: one line on stderr, non-zero status.
func TestImageCommandErrors(t *testing.T) {
	dir := shared.Path(t, "oracle", "multimodal")
	mmproj := filepath.Join(dir, "models", "mmproj-F32.gguf")
	image := filepath.Join(dir, "image1.png")
	text := filepath.Join(dir, "models", "llava-text-F32.gguf")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"img without mmproj", []string{"logits", "-m", text, "--tokens", "1,img"}, "img needs --mmproj and --image"},
		{"mmproj without image", []string{"logits", "-m", text, "--mmproj", mmproj, "--tokens", "1,img"}, "go together"},
		{"no img", []string{"logits", "-m", text, "--mmproj", mmproj, "--image", image, "--tokens", "1,2"}, "no img"},
		{"width mismatch", []string{"logits", "--mmproj", mmproj, "--image", image, "--tokens", "1,img"}, "do not belong together"},
		{"text model as mmproj", []string{"embed-image", "--mmproj", text, "--image", image}, "not an mmproj file"},
		{"not an image", []string{"embed-image", "--mmproj", mmproj, "--image", mmproj}, "decode image"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, errOut := golem(t, c.args...)
			require.NotEqual(t, 0, code)
			assert.Empty(t, stdout)
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			last := lines[len(lines)-1]
			assert.True(t, strings.HasPrefix(last, "golem: "), last)
			assert.Contains(t, last, c.want)
		})
	}
}
