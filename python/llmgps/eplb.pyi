from typing import Any, Tuple

def rebalance_experts(weight: Any, num_replicas: int, num_groups: int, num_nodes: int,
                      num_gpus: int) -> Tuple[Any, Any, Any]: ...
