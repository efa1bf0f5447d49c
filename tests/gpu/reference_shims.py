"""Shims shared by the GPU parity scripts: the reference model files import diffusers only for
their base classes, which become a plain class and torch.nn.Module here."""
import sys, types

import torch


def install_diffusers_shim():
    d = types.ModuleType("diffusers"); cu = types.ModuleType("diffusers.configuration_utils")
    mu = types.ModuleType("diffusers.models.modeling_utils"); dm = types.ModuleType("diffusers.models")
    class ConfigMixin: pass
    cu.ConfigMixin = ConfigMixin; cu.register_to_config = lambda f: f; mu.ModelMixin = torch.nn.Module
    sys.modules.update({"diffusers": d, "diffusers.configuration_utils": cu, "diffusers.models": dm,
                        "diffusers.models.modeling_utils": mu})
