"""Scripted, repeatable faults in the middle of a load run, on the production topology.

``tier1 bench faults`` (see its --help): per scenario, `tier1 bench load`'s users run against
two replicas, a fault is injected a third of the way in (`injection`), the stack recovers, and
the database and the users' own counts are checked (`checks`): nothing lost, nothing left
unanswered within the bound, nothing duplicated, the agents' conversations untouched.
"""

from tier1.bench.faults.drill import DrillOptions, run_drills, run_scenario, table
from tier1.bench.faults.injection import SCENARIOS
from tier1.bench.faults.topology import Target, Topology

__all__ = ["SCENARIOS", "DrillOptions", "Target", "Topology", "run_drills", "run_scenario", "table"]
