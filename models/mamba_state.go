package models

// RecurrentState: a Mamba cache holds one running state per sequence, not an entry per
// token, so inference/ never cuts a sequence back to a prefix (it reuses a cached
// sequence only whole, or starts it over).
func (m *mamba) RecurrentState() bool { return true }
