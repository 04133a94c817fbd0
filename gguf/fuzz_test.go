package gguf

import (
	"bytes"
	"testing"

	"github.com/golem-llm/golem/models/embedded"
)

// FuzzParse feeds arbitrary bytes to the reader. It must never panic or hang, and a
// file it accepts must survive a write/read round trip unchanged.
func FuzzParse(f *testing.F) {
	f.Add(validSmall())
	f.Add(buildRoundTripFileFuzz())
	f.Add(embedded.Stories260K[:8192]) // a real header, truncated in the vocab
	f.Add((&rawFile{}).header(3, 0, 1).str("k").u32(uint32(Array)).u32(uint32(Array)).u64(1).
		u32(uint32(Uint8)).u64(2).u8(1).u8(2).b)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := FromBytes(data)
		if err != nil {
			return
		}
		specs := make([]TensorSpec, len(file.Tensors))
		for i, ti := range file.Tensors {
			specs[i] = TensorSpec{Name: ti.Name, Type: ti.Type, Dims: ti.Dims}
		}
		var buf bytes.Buffer
		w, err := NewWriter(&buf, file.Meta, specs)
		if err != nil {
			t.Fatalf("accepted file cannot be written back: %v", err)
		}
		for i := range file.Tensors {
			d, err := file.TensorData(&file.Tensors[i])
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteTensor(file.Tensors[i].Name, d); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		again, err := FromBytes(buf.Bytes())
		if err != nil {
			t.Fatalf("rewritten file does not parse: %v", err)
		}
		if again.Meta.Len() != file.Meta.Len() || len(again.Tensors) != len(file.Tensors) {
			t.Fatalf("round trip changed the file: %d/%d keys, %d/%d tensors",
				again.Meta.Len(), file.Meta.Len(), len(again.Tensors), len(file.Tensors))
		}
	})
}

// buildRoundTripFileFuzz is buildRoundTripFile without a *testing.T.
func buildRoundTripFileFuzz() []byte {
	var t testing.T
	return buildRoundTripFile(&t)
}
