"""Shared fixtures: small device cards built in code, so datapath tests can choose any geometry."""

import pytest

from memsim.devices.adc import SarAdc
from memsim.devices.adc_energy import TableEnergy
from memsim.devices.card import DeviceCard
from memsim.devices.crossbar import Crossbar
from memsim.devices.dac import Dac
from memsim.devices.digital import Register, ShiftAdd
from memsim.devices.memristor import MemristorCell
from memsim.devices.sense_amp import SampleHold
from memsim.devices.variation import NoVariation, Proportional


def make_card(
    rows=16,
    cols=17,
    columns_per_adc=8,
    cell_bits=2,
    dac_bits=1,
    adc_bits=8,
    sigma_rel=0.0,
    read_noise_rel=0.0,
    read_energy_model="lumped",
    reference="column",
):
    """A test card with round numbers (not a published design): 1 µS..10 µS cells, 0.5 V, 10 ns reads."""
    variation = Proportional(sigma_rel=sigma_rel) if sigma_rel > 0 else NoVariation()
    return DeviceCard(
        name="test-card",
        description="synthetic card for tests",
        crossbar=Crossbar(rows=rows, cols=cols, columns_per_adc=columns_per_adc, read_energy_model=read_energy_model,
                          e_array_read_j=30e-12, t_read_s=10e-9, reference=reference),
        cell=MemristorCell(bits_per_cell=cell_bits, g_min_s=1e-6, g_max_s=10e-6, v_read_v=0.5,
                           variation=variation, read_noise_rel=read_noise_rel),
        dac=Dac(bits=dac_bits, e_drive_j=0.39e-12, t_drive_s=1e-9),
        sample_hold=SampleHold(e_sample_j=1e-15, t_sample_s=1e-9),
        adc=SarAdc(bits=adc_bits, energy=TableEnergy(table_bits=(1, 16), e_conv_j=(0.5e-12, 4e-12)),
                   t_cycle_s=1e-9, overhead_cycles=1),
        shift_add=ShiftAdd(e_op_j=0.02e-12, t_op_s=1e-9),
        register=Register(e_bit_j=0.009e-12, t_access_s=1e-9),
    )


@pytest.fixture(scope="session")
def card_factory():
    return make_card


@pytest.fixture
def run_cli(capsys):
    """Run ``memsim argv`` through the console entry point; return (exit code, stdout, stderr)."""
    from memsim.cli.main import main

    def run(argv):
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run
