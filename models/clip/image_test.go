package clip

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func encodePNG(t *testing.T, m image.Image) []byte {
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, m))
	return buf.Bytes()
}

// TestDecodePNGKinds: every PNG colour type becomes 8-bit RGB as stb_image gives it:
// alpha dropped (not composited), 16-bit samples reduced to the high byte, grey
// replicated, palettes looked up.
func TestDecodePNGKinds(t *testing.T) {
	rgba := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	rgba.SetNRGBA(1, 0, color.NRGBA{R: 200, G: 100, B: 50, A: 10})
	g16 := image.NewGray16(image.Rect(0, 0, 3, 2))
	g16.SetGray16(2, 1, color.Gray16{Y: 0xabcd})
	c16 := image.NewNRGBA64(image.Rect(0, 0, 3, 2))
	c16.SetNRGBA64(0, 1, color.NRGBA64{R: 0x1234, G: 0x5678, B: 0x9abc, A: 0x0100})
	pal := image.NewPaletted(image.Rect(0, 0, 3, 2), color.Palette{color.NRGBA{1, 2, 3, 255}, color.NRGBA{7, 8, 9, 0}})
	pal.SetColorIndex(2, 0, 1)
	for _, c := range []struct {
		name string
		img  image.Image
		x, y int
		want [3]uint8
	}{
		{"rgba", rgba, 1, 0, [3]uint8{200, 100, 50}},
		{"gray16", g16, 2, 1, [3]uint8{0xab, 0xab, 0xab}},
		{"rgba64", c16, 0, 1, [3]uint8{0x12, 0x56, 0x9a}},
		{"paletted", pal, 2, 0, [3]uint8{7, 8, 9}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Decode(encodePNG(t, c.img))
			require.NoError(t, err)
			require.Equal(t, 3, got.W)
			require.Equal(t, 2, got.H)
			i := 3 * (c.y*got.W + c.x)
			require.Equal(t, c.want[:], got.Pix[i:i+3])
		})
	}
}

// TestDecodeJPEG: JPEG decodes (approximately: decoders differ).
func TestDecodeJPEG(t *testing.T) {
	m := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range m.Pix {
		m.Pix[i] = 0x80
	}
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, m, &jpeg.Options{Quality: 95}))
	got, err := Decode(buf.Bytes())
	require.NoError(t, err)
	require.Equal(t, 16, got.W)
	for _, v := range got.Pix {
		require.InDelta(t, 0x80, int(v), 2)
	}
}

// TestPreprocessGeometry: an image already of the output size comes through
// unchanged (scale 1 samples pixel centres), and a wide image is padded at the
// bottom (top-left placement), not centred.
func TestPreprocessGeometry(t *testing.T) {
	mean, std := [3]float32{0, 0, 0}, [3]float32{1, 1, 1}
	img := &Image{W: 8, H: 8, Pix: make([]uint8, 3*64)}
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 37)
	}
	out, err := Preprocess(img, 8, mean, std)
	require.NoError(t, err)
	for y := range 8 {
		for x := range 8 {
			for c := range 3 {
				got := uint8(math.Round(float64(out[c*64+y*8+x] * 255)))
				require.Equal(t, img.Pix[3*(y*8+x)+c], got)
			}
		}
	}
	wide := &Image{W: 8, H: 4, Pix: make([]uint8, 3*32)} // black
	out, err = Preprocess(wide, 8, mean, std)
	require.NoError(t, err)
	for c := range 3 {
		require.Equal(t, float32(0), out[c*64+0*8+3], "top rows hold the image")
		require.Equal(t, padColor[c]/255, out[c*64+7*8+3], "bottom rows are padding")
	}
	_, err = Preprocess(&Image{W: 2, H: 2, Pix: make([]uint8, 5)}, 8, mean, std)
	require.Error(t, err)
}

func TestIm2col(t *testing.T) {
	s, p := 4, 2
	chw := make([]float32, 3*s*s)
	for i := range chw {
		chw[i] = float32(i)
	}
	rows := im2col(chw, s, p)
	require.Len(t, rows, 4*12)
	// Patch 1 (row 0, column 1), channel 2, kernel row 1, column 0: pixel (y 1, x 2).
	require.Equal(t, chw[2*16+1*4+2], rows[1*12+2*4+1*2+0])
}
