package kernels

import "encoding/binary"

// Block sizes in bytes of the 32-element types.
const (
	q4_0Bytes = 18 // d f16, 16 bytes of nibbles: element j low, j+16 high
	q4_1Bytes = 20 // d f16, m f16, nibbles as Q4_0
	q5_0Bytes = 22 // d f16, qh u32 (fifth bits), nibbles as Q4_0
	q5_1Bytes = 24 // d f16, m f16, qh u32, nibbles
	q8_0Bytes = 34 // d f16, 32 int8
	q8_1Bytes = 36 // d f16, s f16 (d*sum of quants), 32 int8
)

// kvaluesIQ4NL are the 16 non-linear levels of IQ4_NL and IQ4_XS.
var kvaluesIQ4NL = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// DotQ4_0 returns the dot product of nBlocks Q4_0 blocks with nBlocks Q8_0 blocks.
func DotQ4_0(w, x []byte, nBlocks int) float32 {
	if hasAVX2 && nBlocks > 0 {
		_, _ = w[nBlocks*q4_0Bytes-1], x[nBlocks*q8_0Bytes-1]
		return dotQ4_0AVX2(&w[0], &x[0], nBlocks)
	}
	return dotQ4_0Go(w, x, nBlocks)
}

func dotQ4_0Go(w, x []byte, nBlocks int) float32 {
	var sum float32
	for i := range nBlocks {
		wb := (*[q4_0Bytes]byte)(w[i*q4_0Bytes:])
		xb := (*[q8_0Bytes]byte)(x[i*q8_0Bytes:])
		var s int32
		for j := range 16 {
			b := wb[2+j]
			s += (int32(b&15)-8)*int32(int8(xb[2+j])) + (int32(b>>4)-8)*int32(int8(xb[18+j]))
		}
		sum += float32(s) * (le16h(wb[:]) * le16h(xb[:]))
	}
	return sum
}

// MatVecQ4_0 is the multi-row form of DotQ4_0 (see MatVecFunc).
func MatVecQ4_0(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	if hasAVX2 && nBlocks > 0 && len(dst) > 0 {
		_, _ = w[(len(dst)-1)*rowStride+nBlocks*q4_0Bytes-1], x[nBlocks*q8_0Bytes-1]
		matVecQ4_0AVX2(dst, w, rowStride, x, nBlocks)
		return
	}
	for r := range dst {
		dst[r] = dotQ4_0Go(w[r*rowStride:], x, nBlocks)
	}
}

// DotQ4_1 returns the dot product of nBlocks Q4_1 blocks with nBlocks Q8_1 blocks.
func DotQ4_1(w, x []byte, nBlocks int) float32 {
	var sum float32
	for i := range nBlocks {
		wb := (*[q4_1Bytes]byte)(w[i*q4_1Bytes:])
		xb := (*[q8_1Bytes]byte)(x[i*q8_1Bytes:])
		var s int32
		for j := range 16 {
			b := wb[4+j]
			s += int32(b&15)*int32(int8(xb[4+j])) + int32(b>>4)*int32(int8(xb[20+j]))
		}
		sum += float32(s)*(le16h(wb[0:])*le16h(xb[0:])) + le16h(wb[2:])*le16h(xb[2:])
	}
	return sum
}

// MatVecQ4_1 is the multi-row form of DotQ4_1 (see MatVecFunc).
func MatVecQ4_1(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	for r := range dst {
		dst[r] = DotQ4_1(w[r*rowStride:], x, nBlocks)
	}
}

// DotQ5_0 returns the dot product of nBlocks Q5_0 blocks with nBlocks Q8_0 blocks.
func DotQ5_0(w, x []byte, nBlocks int) float32 {
	var sum float32
	for i := range nBlocks {
		wb := (*[q5_0Bytes]byte)(w[i*q5_0Bytes:])
		xb := (*[q8_0Bytes]byte)(x[i*q8_0Bytes:])
		qh := binary.LittleEndian.Uint32(wb[2:])
		var s int32
		for j := range 16 {
			b := wb[6+j]
			lo := int32(b&15) | int32((qh>>j)&1)<<4
			hi := int32(b>>4) | int32((qh>>(j+16))&1)<<4
			s += (lo-16)*int32(int8(xb[2+j])) + (hi-16)*int32(int8(xb[18+j]))
		}
		sum += float32(s) * (le16h(wb[:]) * le16h(xb[:]))
	}
	return sum
}

// MatVecQ5_0 is the multi-row form of DotQ5_0 (see MatVecFunc).
func MatVecQ5_0(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	for r := range dst {
		dst[r] = DotQ5_0(w[r*rowStride:], x, nBlocks)
	}
}

// DotQ5_1 returns the dot product of nBlocks Q5_1 blocks with nBlocks Q8_1 blocks.
func DotQ5_1(w, x []byte, nBlocks int) float32 {
	var sum float32
	for i := range nBlocks {
		wb := (*[q5_1Bytes]byte)(w[i*q5_1Bytes:])
		xb := (*[q8_1Bytes]byte)(x[i*q8_1Bytes:])
		qh := binary.LittleEndian.Uint32(wb[4:])
		var s int32
		for j := range 16 {
			b := wb[8+j]
			lo := int32(b&15) | int32((qh>>j)&1)<<4
			hi := int32(b>>4) | int32((qh>>(j+16))&1)<<4
			s += lo*int32(int8(xb[4+j])) + hi*int32(int8(xb[20+j]))
		}
		sum += float32(s)*(le16h(wb[0:])*le16h(xb[0:])) + le16h(wb[2:])*le16h(xb[2:])
	}
	return sum
}

// MatVecQ5_1 is the multi-row form of DotQ5_1 (see MatVecFunc).
func MatVecQ5_1(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	for r := range dst {
		dst[r] = DotQ5_1(w[r*rowStride:], x, nBlocks)
	}
}

// DotQ8_0 returns the dot product of nBlocks Q8_0 blocks with nBlocks Q8_0 blocks.
func DotQ8_0(w, x []byte, nBlocks int) float32 {
	if hasAVX2 && nBlocks > 0 {
		_, _ = w[nBlocks*q8_0Bytes-1], x[nBlocks*q8_0Bytes-1]
		return dotQ8_0AVX2(&w[0], &x[0], nBlocks)
	}
	return dotQ8_0Go(w, x, nBlocks)
}

func dotQ8_0Go(w, x []byte, nBlocks int) float32 {
	var sum float32
	for i := range nBlocks {
		wb := (*[q8_0Bytes]byte)(w[i*q8_0Bytes:])
		xb := (*[q8_0Bytes]byte)(x[i*q8_0Bytes:])
		var s int32
		for j := 2; j < q8_0Bytes; j++ {
			s += int32(int8(wb[j])) * int32(int8(xb[j]))
		}
		sum += float32(s) * (le16h(wb[:]) * le16h(xb[:]))
	}
	return sum
}

// MatVecQ8_0 is the multi-row form of DotQ8_0 (see MatVecFunc).
func MatVecQ8_0(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	if hasAVX2 && nBlocks > 0 && len(dst) > 0 {
		_, _ = w[(len(dst)-1)*rowStride+nBlocks*q8_0Bytes-1], x[nBlocks*q8_0Bytes-1]
		matVecQ8_0AVX2(dst, w, rowStride, x, nBlocks)
		return
	}
	for r := range dst {
		dst[r] = dotQ8_0Go(w[r*rowStride:], x, nBlocks)
	}
}

// DotIQ4_NL returns the dot product of nBlocks IQ4_NL blocks with nBlocks Q8_0 blocks.
func DotIQ4_NL(w, x []byte, nBlocks int) float32 {
	var sum float32
	for i := range nBlocks {
		wb := (*[q4_0Bytes]byte)(w[i*q4_0Bytes:])
		xb := (*[q8_0Bytes]byte)(x[i*q8_0Bytes:])
		var s int32
		for j := range 16 {
			b := wb[2+j]
			s += int32(kvaluesIQ4NL[b&15])*int32(int8(xb[2+j])) + int32(kvaluesIQ4NL[b>>4])*int32(int8(xb[18+j]))
		}
		sum += float32(s) * (le16h(wb[:]) * le16h(xb[:]))
	}
	return sum
}

// MatVecIQ4_NL is the multi-row form of DotIQ4_NL (see MatVecFunc).
func MatVecIQ4_NL(dst []float32, w []byte, rowStride int, x []byte, nBlocks int) {
	for r := range dst {
		dst[r] = DotIQ4_NL(w[r*rowStride:], x, nBlocks)
	}
}
