// Package ipvs keeps the kernel's IP Virtual Server table equal to the
// table the configuration and the live health of real servers call for.
package ipvs
