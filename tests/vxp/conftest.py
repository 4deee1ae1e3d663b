"""A live hub with two connected systems, and the national SDK kit to drive it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from axis.service import agencies, systems
from tests.support.live import LiveHub
from tests.vxp.kit import Kit, require_kit

# System A hosts the Government Office and the Ministry of Finance; system B two provinces.
A_AGENCIES = ["000.00.00.G22", "000.00.00.G17"]
B_AGENCIES = ["000.00.00.H41", "000.00.00.H14"]


@dataclass
class System:
    id: str
    secret: str
    agencies: list[str]


@dataclass
class VxpHub:
    live: LiveHub
    a: System
    b: System

    @property
    def endpoint(self) -> str:
        return f"{self.live.url}/vxp"


@pytest.fixture(scope="session")
def kit_path():
    return require_kit()


@pytest.fixture
def kit(kit_path, tmp_path) -> Kit:
    scratch = tmp_path / "kit"
    scratch.mkdir()
    return Kit(kit_path, scratch)


@pytest.fixture
def vxp_hub(live_hub: LiveHub) -> VxpHub:
    hub = live_hub.hub
    made = []
    for system_id, name, codes in (
        ("VPCP-EOFFICE", "eOffice Văn phòng Chính phủ", A_AGENCIES),
        ("NGHEAN-QLVB", "QLVB tỉnh Nghệ An", B_AGENCIES),
    ):
        secret = systems.add_system(hub.db, hub.secret_box, system_id, name)
        for code in codes:
            agencies.add_hosted_agency(hub.db, code, f"Cơ quan {code}", system_id)
        made.append(System(system_id, secret, codes))
    return VxpHub(live_hub, *made)
