//! Causal self-attention over a growing key/value cache, shared by every
//! decoder this crate builds (the synthetic GPT, the Llama family): the
//! cache, its checks, the mask for new tokens that follow cached ones, and
//! the call of ATen's `scaled_dot_product_attention`.

use tch::{Kind, TchError, Tensor};

/// Per layer, the keys and values `[batch, kv_heads, len, head_dim]` of the
/// tokens seen so far.
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
    /// Sequences the cache holds, once it holds any.
    batch: i64,
}

impl KvCache {
    pub fn new(layers: usize) -> Self {
        Self {
            layers: (0..layers).map(|_| None).collect(),
            len: 0,
            batch: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Checks that `ids` `[batch, new]` can extend this cache in a model
    /// of `layers` layers (same batch), and returns where the new tokens
    /// start (the cached count).
    fn admit(&self, ids: &Tensor, layers: usize) -> Result<i64, TchError> {
        let (batch, _) = ids.size2()?;
        if self.layers.len() != layers {
            return Err(TchError::Shape(format!(
                "a cache of {} layers for a model of {layers}",
                self.layers.len()
            )));
        }
        if self.len > 0 && batch != self.batch {
            return Err(TchError::Shape(format!(
                "{batch} sequences for a cache of {}",
                self.batch
            )));
        }
        Ok(self.len as i64)
    }
}

/// One layer's cached keys and values, empty before the first tokens.
pub type Slot = Option<(Tensor, Tensor)>;

/// Runs a model's layers over `ids` `[batch, new]`: checks that they fit
/// (`max_positions`, and the cache when given), then calls `layers_body`
/// with the position of the first new token and one cache slot per layer
/// (none without a cache), and records the new tokens in the cache once it
/// succeeded (and empties it when it failed). The one place every model here checks its cache.
pub fn run_layers<T>(
    cache: Option<&mut KvCache>,
    ids: &Tensor,
    layers: usize,
    max_positions: usize,
    layers_body: impl FnOnce(i64, Vec<Option<&mut Slot>>) -> Result<T, TchError>,
) -> Result<T, TchError> {
    let past = match cache.as_deref() {
        Some(c) => c.admit(ids, layers)?,
        None => 0,
    };
    let (batch, new) = ids.size2()?;
    let total = past as usize + new as usize;
    if total > max_positions {
        return Err(TchError::Shape(format!(
            "sequence length {total} exceeds the model's {max_positions} positions"
        )));
    }
    match cache {
        None => layers_body(past, (0..layers).map(|_| None).collect()),
        Some(c) => {
            let out = layers_body(past, c.layers.iter_mut().map(Some).collect());
            if out.is_ok() {
                c.batch = batch;
                c.len = total;
            } else {
                // Some layers may hold the new tokens already: drop all, so
                // a later step fails instead of attending to a torn cache.
                *c = KvCache::new(layers);
            }
            out
        }
    }
}

/// What attention masks.
pub enum Mask {
    /// A single new token attends to everything before it.
    None,
    /// `is_causal`: square, token `i` sees tokens `<= i` (an empty past).
    Causal,
    /// Boolean `[t, past + t]`, true where attention is allowed.
    Explicit(Tensor),
}

impl Mask {
    /// The mask for `t` new tokens after `past` cached ones: new token `i`
    /// sees the cache and the new tokens `<= i`.
    pub fn for_new_tokens(t: i64, past: i64, device: tch::Device) -> Result<Self, TchError> {
        Ok(if t == 1 {
            Mask::None
        } else if past == 0 {
            Mask::Causal
        } else {
            let keys = Tensor::f_arange(past + t, (Kind::Int64, device))?;
            let queries = Tensor::f_arange(t, (Kind::Int64, device))?
                .f_add_scalar(past)?
                .f_unsqueeze(1)?;
            Mask::Explicit(keys.f_le_tensor(&queries)?)
        })
    }
}

/// `softmax(q k^T / sqrt(d) + mask) v` for queries `q` `[b, heads, t, d]`
/// and the new keys and values `k`, `v` `[b, kv_heads, t, d]`, which first
/// extend `cache` (one layer's slot) when given. With fewer key/value heads
/// than query heads (grouped-query attention), query head `h` reads
/// key/value head `h / (heads / kv_heads)`: `enable_gqa`, which repeats
/// each key/value head over its group as `transformers`' `repeat_kv` does.
/// Returns `[b, heads, t, d]`.
pub fn attend(
    q: &Tensor,
    mut k: Tensor,
    mut v: Tensor,
    mask: &Mask,
    cache: Option<&mut Slot>,
) -> Result<Tensor, TchError> {
    if let Some(slot) = cache {
        if let Some((k_past, v_past)) = slot.as_ref() {
            k = Tensor::f_cat(&[k_past, &k], 2)?;
            v = Tensor::f_cat(&[v_past, &v], 2)?;
        } else {
            // Views into a fused projection would keep all of it alive.
            k = k.f_contiguous()?;
            v = v.f_contiguous()?;
        }
        *slot = Some((k.shallow_clone(), v.shallow_clone()));
    }
    let grouped = q.size()[1] != k.size()[1];
    let (attn_mask, is_causal) = match mask {
        Mask::None => (None, false),
        Mask::Causal => (None, true),
        Mask::Explicit(m) => (Some(m), false),
    };
    // Scale defaults to 1/sqrt(d).
    Tensor::f_scaled_dot_product_attention(q, &k, &v, attn_mask, 0.0, is_causal, None, grouped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_mask_lets_new_tokens_see_the_cache_and_their_past() {
        let Mask::Explicit(m) = Mask::for_new_tokens(2, 3, tch::Device::Cpu).unwrap() else {
            panic!("two new tokens after three cached need an explicit mask");
        };
        let rows: Vec<Vec<bool>> = Vec::<Vec<bool>>::try_from(&m).unwrap();
        assert_eq!(
            rows,
            [
                [true, true, true, true, false],
                [true, true, true, true, true]
            ]
        );
    }

    #[test]
    fn run_layers_rejects_overflow_a_foreign_cache_and_another_batch() {
        let ids = |b: i64, t: i64| Tensor::zeros([b, t], (Kind::Int64, tch::Device::Cpu));
        let body = |past: i64, slots: Vec<Option<&mut Slot>>| {
            assert!(slots.iter().all(|s| s.is_some()));
            Ok(past)
        };
        let mut cache = KvCache::new(2);
        let too_long = run_layers(Some(&mut cache), &ids(2, 5), 2, 4, body).unwrap_err();
        assert!(
            too_long.to_string().contains("sequence length 5 exceeds"),
            "{too_long}"
        );
        let foreign = run_layers(Some(&mut cache), &ids(2, 1), 3, 4, body).unwrap_err();
        assert!(
            foreign.to_string().contains("a cache of 2 layers"),
            "{foreign}"
        );
        assert!(cache.is_empty(), "failed calls leave the cache as it was");
        assert_eq!(
            run_layers(Some(&mut cache), &ids(2, 3), 2, 4, body).unwrap(),
            0
        );
        assert_eq!(cache.len(), 3);
        assert_eq!(
            run_layers(Some(&mut cache), &ids(2, 1), 2, 4, body).unwrap(),
            3
        );
        let other = run_layers(Some(&mut cache), &ids(1, 1), 2, 8, body).unwrap_err();
        assert!(
            other.to_string().contains("1 sequences for a cache of 2"),
            "{other}"
        );
        let uncached = run_layers(None, &ids(1, 4), 2, 4, |past, slots| {
            assert!(slots.iter().all(|s| s.is_none()));
            Ok(past)
        });
        assert_eq!(uncached.unwrap(), 0);
    }
}
