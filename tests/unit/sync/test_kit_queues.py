"""The queues the travel dialog offers, read from the replica: every queue by name except
those of the never-offline areas (child safety), which a kit never holds."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from reviewer.store.models import Queue
from reviewer.sync.offline_kit import kit_queues


def _areas(workstation) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with workstation.replica.sessions() as session:
        return {queue.name: queue.policy_area for queue in session.scalars(select(Queue))}


def test_every_queue_but_the_never_offline_ones_by_name(module_workstation):
    offered = kit_queues(module_workstation.replica, module_workstation.taxonomy)
    names = [name for _id, name in offered]
    never = {area.code for area in module_workstation.taxonomy.areas if area.never_offline}
    areas = _areas(module_workstation)
    assert never and any(area in never for area in areas.values())
    assert names == sorted(names)
    assert set(names) == {name for name, area in areas.items() if area not in never}
    assert "Child safety" not in names and "Hate speech" in names
    assert dict(offered) == {queue_id: name for queue_id, name in module_workstation.queues()
                             if name in names}


def test_the_taxonomy_decides_what_never_goes_offline(module_workstation):
    areas = tuple(dataclasses.replace(area, never_offline=area.code == "hate_speech")
                  for area in module_workstation.taxonomy.areas)
    taxonomy = dataclasses.replace(module_workstation.taxonomy, areas=areas)
    names = [name for _id, name in kit_queues(module_workstation.replica, taxonomy)]
    assert "Hate speech" not in names and "Child safety" in names
