//! The key/value cache of the decoders this crate builds (the synthetic
//! GPT, the Llama family): where new tokens start, the causal mask of new
//! tokens after cached ones, and a layer's cached keys and values growing
//! by the new tokens'.

use candle_core::{DType, Device, Result, Tensor};

/// One layer's cached keys and values, `[b, heads, len, d]`; empty before
/// the first tokens.
pub(crate) type Slot = Option<(Tensor, Tensor)>;

/// Keys and values of the tokens seen so far, per layer.
pub struct KvCache {
    pub(crate) layers: Vec<Slot>,
    pub len: usize,
}

impl KvCache {
    pub fn new(layers: usize) -> Self {
        Self {
            layers: vec![None; layers],
            len: 0,
        }
    }

    /// Where the new tokens `ids` `[batch, t]` stand after the cached ones,
    /// with their causal mask in `mask_dtype`; fails when they would run
    /// past the model's `max_positions`.
    pub(crate) fn new_tokens(
        &self,
        ids: &Tensor,
        max_positions: usize,
        mask_dtype: DType,
    ) -> Result<NewTokens> {
        let (batch, t) = ids.dims2()?;
        let end = self.len + t;
        if end > max_positions {
            candle_core::bail!(
                "sequence length {end} exceeds the model's {max_positions} positions"
            )
        }
        let mask = causal_mask(t, self.len, mask_dtype, ids.device())?;
        Ok(NewTokens {
            batch,
            t,
            past: self.len,
            mask,
        })
    }

    /// Runs `x`, the hidden states of `new`, through `layers` in order, each
    /// with its own cached keys and values (which `layer` appends to), then
    /// counts the new tokens as cached.
    pub(crate) fn through_layers<L>(
        &mut self,
        new: &NewTokens,
        layers: &[L],
        mut x: Tensor,
        mut layer: impl FnMut(&L, Tensor, &mut Slot) -> Result<Tensor>,
    ) -> Result<Tensor> {
        for (l, slot) in layers.iter().zip(self.layers.iter_mut()) {
            x = layer(l, x, slot)?;
        }
        self.len += new.t;
        Ok(x)
    }
}

/// `t` new tokens of `batch` sequences that follow the cached ones.
pub(crate) struct NewTokens {
    pub batch: usize,
    pub t: usize,
    /// The position of the first new token: the cached count.
    pub past: usize,
    /// New token `i` attends to the cached tokens and new tokens `≤ i`.
    pub mask: Option<Tensor>,
}

/// Appends a layer's new keys and values to its `slot`; returns all of
/// them so far.
pub(crate) fn append(slot: &mut Slot, k: Tensor, v: Tensor) -> Result<(Tensor, Tensor)> {
    let (k, v) = match slot.as_ref() {
        Some((k_past, v_past)) => (
            Tensor::cat(&[k_past, &k], 2)?,
            Tensor::cat(&[v_past, &v], 2)?,
        ),
        None => (k, v),
    };
    *slot = Some((k.clone(), v.clone()));
    Ok((k, v))
}

/// The additive mask `[t, past + t]` of `t` new tokens after `past` cached
/// ones: new token `i` sees cached tokens and new tokens `≤ i`; 0 where it
/// may attend, -inf where it may not. None for a single new token, which
/// attends to everything before it.
fn causal_mask(t: usize, past: usize, dtype: DType, device: &Device) -> Result<Option<Tensor>> {
    if t == 1 {
        return Ok(None);
    }
    let mask: Vec<f32> = (0..t)
        .flat_map(|i| {
            (0..past + t).map(move |j| {
                if j <= past + i {
                    0.0
                } else {
                    f32::NEG_INFINITY
                }
            })
        })
        .collect();
    Tensor::from_vec(mask, (t, past + t), device)?
        .to_dtype(dtype)
        .map(Some)
}
