package vrrp

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// linuxOnly are the import paths of the Linux I/O: the protocol core
// (codec, state machine, sync groups, reconfiguration) must do without
// them, so that it runs, and is tested, apart from the host.
var linuxOnly = []string{
	"golang.org/x/sys/unix",
	"golang.org/x/net/ipv4",
	"golang.org/x/net/ipv6",
	"github.com/vishvananda/",
	"github.com/mdlayher/",
}

// socketCalls are the names in package syscall that do socket work.
var socketCalls = []string{
	"Socket", "Bind", "Listen", "Accept", "Connect", "Recv", "Send",
	"Setsockopt", "Getsockopt", "RawConn", "AF_", "SOCK_", "SOL_", "SO_",
	"IPPROTO_", "ETH_P_", "Netlink", "NETLINK_", "RTM_", "RTN_", "IFF_",
}

// TestCoreImportsNoLinux parses the package's files other than the
// _linux.go ones and the tests, and fails if one imports a Linux-only
// package or does socket work through syscall.
func TestCoreImportsNoLinux(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || strings.HasSuffix(name, "_linux.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		syscallName := ""
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range linuxOnly {
				if path == bad || (strings.HasSuffix(bad, "/") && strings.HasPrefix(path, bad)) {
					t.Errorf("%s imports %s: Linux I/O belongs in a _linux.go file", fset.Position(imp.Pos()), path)
				}
			}
			if path == "syscall" {
				syscallName = "syscall"
				if imp.Name != nil {
					syscallName = imp.Name.Name
				}
			}
		}
		if syscallName == "" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == syscallName {
				for _, p := range socketCalls {
					if strings.HasPrefix(sel.Sel.Name, p) {
						t.Errorf("%s uses syscall.%s: socket work belongs in a _linux.go file", fset.Position(sel.Pos()), sel.Sel.Name)
					}
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no file of the core found")
	}
}
