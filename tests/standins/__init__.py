"""STAND-INS for vendor artefacts (tests only, never shipped).

No GitLab, Harbor, Jenkins, kubeadm or kubelet binary can be had on this machine, so the tests build
artefacts with the upstream name, version scheme, layout and install path whose executables accept
only what the upstream reference documents and record every call (see DESIGN.md, "Testing vendor
installs here: stand-ins"). This package holds the builder kit; each stand-in lives beside it.
"""
