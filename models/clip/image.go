package clip

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // JPEG files (not bit-exact with other decoders: see Decode)
	_ "image/png"  // PNG files (lossless: exact)
	"io"
	"math"
	"os"
)

// Image is an 8-bit RGB image: W×H pixels, row-major, three bytes (R, G, B) each.
type Image struct {
	W, H int
	Pix  []uint8
}

// Limits on what Decode accepts. They are checked before anything is decoded, so a
// small file that declares a huge image is an error, not an out-of-memory crash.
const (
	// MaxImageBytes bounds the encoded file.
	MaxImageBytes = 64 << 20
	// MaxImageSide bounds the width and the height.
	MaxImageSide = 16384
	// MaxImagePixels bounds W×H (decoding takes about 7 bytes a pixel).
	MaxImagePixels = 1 << 25
)

// ErrImageTooLarge is wrapped by the errors of images beyond the limits.
var ErrImageTooLarge = errors.New("image too large")

// LoadImage reads and decodes an image file (PNG or JPEG).
func LoadImage(path string) (*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxImageBytes {
		return nil, fmt.Errorf("%s: %d bytes: %w (at most %d bytes)", path, st.Size(), ErrImageTooLarge, MaxImageBytes)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxImageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	img, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// Decode decodes a PNG or JPEG image to 8-bit RGB, as llama.cpp's stb_image does
// when asked for 3 channels: no colour management, alpha dropped (not composited),
// 16-bit samples reduced to their high byte, grey replicated. PNG is lossless, so
// the result is exact. JPEG decoders differ (chroma upsampling, IDCT rounding): Go's
// decoder will not match stb_image or libjpeg bit for bit, so a JPEG's embeddings
// differ slightly from llama.cpp's.
func Decode(data []byte) (*Image, error) {
	if len(data) > MaxImageBytes {
		return nil, fmt.Errorf("%d bytes: %w (at most %d bytes)", len(data), ErrImageTooLarge, MaxImageBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode image: %w", err)
	}
	if format != "png" && format != "jpeg" {
		return nil, fmt.Errorf("decode image: format %s is not supported (PNG or JPEG)", format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("decode image: %s declares %d×%d pixels", format, cfg.Width, cfg.Height)
	}
	if cfg.Width > MaxImageSide || cfg.Height > MaxImageSide || cfg.Width*cfg.Height > MaxImagePixels {
		return nil, fmt.Errorf("decode image: %s of %d×%d pixels: %w (at most %d per side and %d pixels)",
			format, cfg.Width, cfg.Height, ErrImageTooLarge, MaxImageSide, MaxImagePixels)
	}
	m, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode image: %s: %w", format, err)
	}
	r := m.Bounds()
	if r.Dx() != cfg.Width || r.Dy() != cfg.Height {
		return nil, fmt.Errorf("decode image: %s decoded to %d×%d pixels, not the declared %d×%d", format, r.Dx(), r.Dy(), cfg.Width, cfg.Height)
	}
	return toRGB(m), nil
}

// toRGB copies any decoded image to 8-bit RGB. The concrete types Go's PNG and JPEG
// decoders return are read directly (straight, not premultiplied, colour values).
func toRGB(m image.Image) *Image {
	r := m.Bounds()
	w, h := r.Dx(), r.Dy()
	out := &Image{W: w, H: h, Pix: make([]uint8, 3*w*h)}
	set := func(x, y int, cr, cg, cb uint8) {
		i := 3 * (y*w + x)
		out.Pix[i], out.Pix[i+1], out.Pix[i+2] = cr, cg, cb
	}
	for y := range h {
		for x := range w {
			px, py := r.Min.X+x, r.Min.Y+y
			switch m := m.(type) {
			case *image.NRGBA:
				c := m.NRGBAAt(px, py)
				set(x, y, c.R, c.G, c.B)
			case *image.RGBA: // PNG gives RGBA only for opaque images
				c := m.RGBAAt(px, py)
				set(x, y, c.R, c.G, c.B)
			case *image.NRGBA64:
				c := m.NRGBA64At(px, py)
				set(x, y, uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8))
			case *image.RGBA64:
				c := m.RGBA64At(px, py)
				set(x, y, uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8))
			case *image.Gray:
				v := m.GrayAt(px, py).Y
				set(x, y, v, v, v)
			case *image.Gray16:
				v := uint8(m.Gray16At(px, py).Y >> 8)
				set(x, y, v, v, v)
			case *image.YCbCr:
				c := m.YCbCrAt(px, py)
				cr, cg, cb := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
				set(x, y, cr, cg, cb)
			default: // palettes, CMYK: straight colour through the NRGBA model
				c := color.NRGBAModel.Convert(m.At(px, py)).(color.NRGBA)
				set(x, y, c.R, c.G, c.B)
			}
		}
	}
	return out
}

// padColor fills the square canvas an image is padded to: LLaVA's mean colour × 255.
var padColor = [3]float32{122, 116, 104}

// Preprocess turns an image into the vision tower's input, [3][size][size] channel
// planes (R, G, B), exactly as llama.cpp's clip_image_preprocess does for LLaVA 1.5:
//
//  1. pad to a square of side L = max(W, H) with padColor, the image at the TOP-LEFT
//     corner (not centred, unlike LLaVA's Python expand2square);
//  2. resize L×L to size×size with llama.cpp's own bilinear scheme (no antialiasing;
//     sample points (x+0.5)·L/size-0.5; on upscaling the first row and column
//     extrapolate, since the fraction is not clamped), all in float32 without fused
//     multiply-adds;
//  3. round half away from zero to 8 bits, clamp to 0..255;
//  4. normalise: (u8/255 - mean[c]) / std[c].
//
// The padded canvas is never materialised: pixels beyond the image read as padColor.
func Preprocess(img *Image, size int, mean, std [3]float32) ([]float32, error) {
	if img == nil || img.W <= 0 || img.H <= 0 || len(img.Pix) != 3*img.W*img.H {
		return nil, fmt.Errorf("preprocess: not a valid RGB image")
	}
	if size <= 0 {
		return nil, fmt.Errorf("preprocess: output size %d", size)
	}
	w, h := img.W, img.H
	side := max(w, h)
	scale := float32(side) / float32(size)
	at := func(x, y, c int) float32 {
		if x >= w || y >= h {
			return padColor[c]
		}
		return float32(img.Pix[3*(y*w+x)+c])
	}
	// sample is one axis's source coordinate: the lower index, the upper (clamped to
	// the last pixel) and the fraction, which is negative at the upscaled first edge.
	sample := func(i int) (int, int, float32) {
		s := float32(float32(float32(i)+0.5)*scale) - 0.5
		i0 := max(0, int(math.Floor(float64(s))))
		i1 := min(i0+1, side-1)
		return i0, i1, s - float32(i0)
	}
	out := make([]float32, 3*size*size)
	plane := size * size
	for y := range size {
		y0, y1, dy := sample(y)
		for x := range size {
			x0, x1, dx := sample(x)
			for c := range 3 {
				v0 := float32(at(x0, y0, c)*(1-dx)) + float32(at(x1, y0, c)*dx)
				v1 := float32(at(x0, y1, c)*(1-dx)) + float32(at(x1, y1, c)*dx)
				v := float32(v0*(1-dy)) + float32(v1*dy)
				u := min(max(math.Round(float64(v)), 0), 255)
				out[c*plane+y*size+x] = (float32(u)/255 - mean[c]) / std[c]
			}
		}
	}
	return out, nil
}
