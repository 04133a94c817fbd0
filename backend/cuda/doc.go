// Package cuda is golem's CUDA backend; it is built with the cuda build tag (see
// cuda.go). Without the tag this package is empty.
package cuda
