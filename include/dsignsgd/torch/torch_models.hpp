#pragma once
/// @file
/// The libtorch component (CMake target dsignsgd_torch, built when libtorch is found): a small CNN
/// and a character-level causal transformer as dsignsgd::Model, i.e. over one flat float
/// parameter buffer and one flat gradient buffer. This header does not include torch: the CLI and
/// the tests call register_torch_models() and then use the models through the core's registry.
///
///   cnn          conv5×5(1→c1)+ReLU+maxpool2, conv5×5(c1→c2)+ReLU+maxpool2, [linear→fc+ReLU],
///                linear→classes.  --arch channels=C1:C2,fc=F   (default channels=16:32,fc=0)
///   transformer  token + position embeddings, L pre-norm blocks (causal multi-head attention,
///                GELU MLP of 4·width), final layer norm, linear head; mean next-character
///                cross-entropy over the window. --arch width=W,layers=L,heads=H (default 64,2,4)

namespace dsignsgd {

/// Registers "cnn" and "transformer" with the core's model registry (idempotent).
void register_torch_models();

}  // namespace dsignsgd
