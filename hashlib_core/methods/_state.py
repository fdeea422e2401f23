"""State of methods whose size is known only after ``setup`` (memory banks, V, targets).

Such state is a registered buffer, so ``state_dict()`` captures it. Its shape depends
on the training set, which a fresh method does not know yet; :class:`SizedBuffers`
lets ``load_state_dict`` replace a buffer by the checkpoint's tensor when the shapes
differ (an empty placeholder before ``setup``, the full bank after), so that resuming
works whether or not ``setup`` ran first.
"""

from __future__ import annotations

import torch
from torch import nn


class SizedBuffers(nn.Module):
    """Mixin for ``nn.Module``: buffers re-sized on ``load_state_dict``."""

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        for name, buf in list(self._buffers.items()):
            key = prefix + name
            if buf is not None and key in state_dict and state_dict[key].shape != buf.shape:
                incoming = state_dict[key]
                self._buffers[name] = torch.empty(
                    incoming.shape, dtype=incoming.dtype, device=buf.device
                )
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def _device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        for b in self.buffers():
            return b.device
        return torch.device("cpu")
