#!/bin/bash
# e2e with a locally built Kubernetes release, two nodes: real-cluster-local.sh with VIRTKUBE_E2E_NODES=2 (start
# --nodes 2: the worker joins with the host's JoinConfiguration, both nodes Ready, a Deployment of 4 replicas over
# both, a pod reaching a pod on the other node by its pod IP). Skips (77) unless VIRTKUBE_E2E_RELEASE is set.
export VIRTKUBE_E2E_NODES=2
exec bash "$(dirname "$0")/real-cluster-local.sh"
