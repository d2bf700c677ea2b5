package ipvs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// NewDestination implements Kernel.
func (h *Handle) NewDestination(s Service, d Destination) error {
	return h.applyOne(Op{Kind: AddDestination, Service: s, Destination: d})
}

// UpdateDestination implements Kernel.
func (h *Handle) UpdateDestination(s Service, d Destination) error {
	return h.applyOne(Op{Kind: UpdateDestination, Service: s, Destination: d})
}

// DelDestination implements Kernel.
func (h *Handle) DelDestination(s Service, d Destination) error {
	return h.applyOne(Op{Kind: DeleteDestination, Service: s, Destination: d})
}

// Destinations implements Kernel.
func (h *Handle) Destinations(s Service) ([]Destination, error) {
	var out []Destination
	err := h.request(cmdGetDest, unix.NLM_F_DUMP, func(e *encoder) { e.serviceKey(&s) }, func(m []byte) error {
		d, err := parseDestination(m)
		if err != nil {
			return fmt.Errorf("reading destination of service %s: %w", s, err)
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing destinations of service %s: %w", s, err)
	}
	return out, nil
}
