package gguf

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golem-llm/golem/internal/shared"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedFilesParse parses every GGUF file under GOLEM_SHARED.
func TestSharedFilesParse(t *testing.T) {
	dir := shared.Dir(t)
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".gguf") {
			return err
		}
		n++
		f, err := Open(path)
		if !assert.NoError(t, err, path) {
			return nil
		}
		defer f.Close()
		for i := range f.Tensors {
			_, err := f.ReadTensor(&f.Tensors[i])
			assert.NoError(t, err)
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, n, 30, "expected the shared oracle's GGUF files")
}

// manifest is the part of an oracle manifest (oracle-manifest/1) that describes the
// GGUF container, written by llama.cpp's tools independently of this reader.
type manifest struct {
	File            string `json:"file"`
	FileSize        int64  `json:"file_size"`
	GGUFArch        string `json:"gguf_architecture"`
	GeneralFileType *int   `json:"general_file_type"`
	Tensors         []struct {
		Name string   `json:"name"`
		Type string   `json:"type"`
		NE   []uint64 `json:"ne"`
	} `json:"tensors"`
}

// TestSharedManifestsAgree compares what the reader finds in each oracle model with
// the manifest written beside it.
func TestSharedManifestsAgree(t *testing.T) {
	dir := shared.Path(t, "oracle", "models")
	paths, err := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, mpath := range paths {
		t.Run(filepath.Base(mpath), func(t *testing.T) {
			raw, err := os.ReadFile(mpath)
			require.NoError(t, err)
			var m manifest
			require.NoError(t, json.Unmarshal(raw, &m))
			f, err := Open(filepath.Join(filepath.Dir(mpath), filepath.Base(m.File)))
			require.NoError(t, err)
			defer f.Close()
			assert.Equal(t, m.FileSize, f.Size)
			assert.Equal(t, m.GGUFArch, f.Meta.Architecture())
			if m.GeneralFileType != nil {
				ft, err := f.Meta.Uint("general.file_type")
				require.NoError(t, err)
				assert.Equal(t, uint64(*m.GeneralFileType), ft)
			}
			require.Len(t, f.Tensors, len(m.Tensors))
			for i, want := range m.Tensors {
				got := f.Tensors[i]
				assert.Equal(t, want.Name, got.Name)
				assert.Equal(t, want.Type, got.Type.String(), want.Name)
				assert.Equal(t, want.NE, got.Dims, want.Name)
			}
		})
	}
}
