"""The PyTorch twins of the two transformers of this project (`bench/twin.py` says what a twin
is): the same networks, optimisers, batch sizes and sequence shapes as
`ch02_arm transformer` and `ch12_llm teeny-gpt`, on random token ids (the time of a pass does
not depend on which tokens it reads).

    python bench/pytorch_transformers.py --model smiles --threads 1 --passes 3
    python bench/pytorch_transformers.py --model teeny-gpt --threads 2 --passes 3

A pass is what the Rust code calls an epoch: 6600 molecules of 51 ids in batches of 64
(smiles), or 25 steps of 32 windows of 150 ids (teeny-gpt).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from twin import arguments, time_passes, train_pass


class WholeWidthAttention(nn.Module):
    """Tomczak's hand-written causal attention: H heads, each as wide as the model."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads, self.width = heads, width
        self.q = nn.Linear(width, heads * width)
        self.k = nn.Linear(width, heads * width)
        self.v = nn.Linear(width, heads * width)
        self.out = nn.Linear(heads * width, width)

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        split = lambda y: y.view(b, t, h, d).transpose(1, 2)
        q = split(self.q(x)) / d**0.25
        k = split(self.k(x)) / d**0.25
        v = split(self.v(x))
        scores = q @ k.transpose(2, 3)
        future = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
        weights = F.softmax(scores.masked_fill(future, float("-inf")), dim=3)
        return self.out((weights @ v).transpose(1, 2).reshape(b, t, h * d))


class Block(nn.Module):
    def __init__(self, width, heads, hidden, whole_width_heads):
        super().__init__()
        if whole_width_heads:
            self.attention = WholeWidthAttention(width, heads)
        else:
            self.mha = nn.MultiheadAttention(width, heads, batch_first=True)
            self.attention = lambda x: self.mha(
                x, x, x, need_weights=False, is_causal=True,
                attn_mask=nn.Transformer.generate_square_subsequent_mask(x.shape[1]),
            )[0]
        self.norm1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))
        self.norm2 = nn.LayerNorm(width)

    def forward(self, x):
        x = self.norm1(x + self.attention(x))
        return self.norm2(x + self.mlp(x))


class Decoder(nn.Module):
    def __init__(self, vocabulary, positions, width, heads, blocks, hidden, whole_width_heads):
        super().__init__()
        self.tokens = nn.Embedding(vocabulary, width)
        self.positions = nn.Embedding(positions, width)
        self.dropout = nn.Dropout(0.1)
        self.blocks = nn.ModuleList(
            Block(width, heads, hidden, whole_width_heads) for _ in range(blocks)
        )
        self.head = nn.Linear(width, vocabulary)

    def forward(self, ids):
        t = ids.shape[1]
        h = self.dropout(self.tokens(ids) + self.positions(torch.arange(t)))
        for block in self.blocks:
            h = block(h)
        return F.log_softmax(self.head(h), dim=2)


def settings(model):
    if model == "smiles":
        net = Decoder(25, 50, 64, 4, 10, 256, whole_width_heads=True)
        optimiser = torch.optim.Adamax(net.parameters(), lr=1e-3)
        return net, optimiser, 6600, 51, 64
    net = Decoder(85, 150, 32, 8, 4, 16384, whole_width_heads=False)
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
    return net, optimiser, 32 * 25, 150, 32


def main():
    args = arguments(["smiles", "teeny-gpt"])
    net, optimiser, rows, length, batch = settings(args.model)
    vocabulary = net.head.out_features
    data = torch.randint(0, vocabulary, (rows, length))

    def nll(net, ids):
        # -log p(x_t | x_<t), summed over the positions of a sequence, averaged over the batch
        log_probs = net(ids[:, :-1])
        return -log_probs.gather(2, ids[:, 1:, None]).squeeze(2).sum(1).mean()

    time_passes(args, train_pass(net, optimiser, data, batch, nll))


if __name__ == "__main__":
    main()
