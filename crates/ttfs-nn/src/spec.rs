//! The model spec: a compact text form of a network, one token per layer.
//!
//! ```text
//! fc<N>                      linear synapse with N outputs
//! conv<C>k<K>[s<S>][p<P>]    convolution: C output channels, KxK kernel, stride S (1), padding P (0)
//! ap<K>[s<S>]                average pooling, window K, stride S (K)
//! mp<K>[s<S>]                max pooling
//! fp<K>[s<S>]                first-spike pooling: max pooling that passes only the earliest
//!                            spike of each window, so a pooled unit fires at most once
//! if                         TTFS neuron (integrate-and-fire, fires at most once)
//! flat                       flatten (inserted automatically before fc on maps)
//! ```
//!
//! Tokens are separated by spaces, commas or `-`. The last token must be a synapse: its
//! output neurons belong to the decoder. Pooling placement is explicit: `conv32k3p1 ap2 if`
//! pools currents, `conv32k3p1 if ap2` pools spikes.
//!
//! Examples: the MLP 784-400-400-10 is `fc400 if fc400 if fc10`; the conv net of the speed
//! peer is `conv32k3p1 ap2 if conv64k3p1 ap2 if fc10`.

use anyhow::{bail, Context, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerSpec {
    Linear {
        out: usize,
    },
    Conv {
        out: usize,
        k: usize,
        stride: usize,
        pad: usize,
    },
    AvgPool {
        k: usize,
        stride: usize,
    },
    MaxPool {
        k: usize,
        stride: usize,
    },
    FirstSpikePool {
        k: usize,
        stride: usize,
    },
    Neuron,
    Flatten,
}

impl LayerSpec {
    pub fn is_synapse(&self) -> bool {
        matches!(self, LayerSpec::Linear { .. } | LayerSpec::Conv { .. })
    }
}

/// The token in its full form (`conv32k3s1p1`, `ap2s2`), for messages.
impl std::fmt::Display for LayerSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            LayerSpec::Linear { out } => write!(f, "fc{out}"),
            LayerSpec::Conv {
                out,
                k,
                stride,
                pad,
            } => write!(f, "conv{out}k{k}s{stride}p{pad}"),
            LayerSpec::AvgPool { k, stride } => write!(f, "ap{k}s{stride}"),
            LayerSpec::MaxPool { k, stride } => write!(f, "mp{k}s{stride}"),
            LayerSpec::FirstSpikePool { k, stride } => write!(f, "fp{k}s{stride}"),
            LayerSpec::Neuron => write!(f, "if"),
            LayerSpec::Flatten => write!(f, "flat"),
        }
    }
}

/// The largest number a token may hold: far above any layer that fits in memory, and low
/// enough that sums and products of a few of them cannot overflow before the sizes are
/// checked (`sizes.rs`).
const LARGEST: usize = u32::MAX as usize;

/// Split `body` (e.g. `32k3s1p1`) into the leading number and `(letter, number)` options.
fn number_and_options(tok: &str, body: &str) -> Result<(usize, Vec<(char, usize)>)> {
    let mut parts = Vec::new();
    let mut letter = None;
    let mut digits = String::new();
    for ch in body.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
        } else if ch.is_ascii_alphabetic() {
            if digits.is_empty() {
                bail!("layer `{tok}`: expected a number before `{ch}`");
            }
            parts.push((
                letter,
                digits
                    .parse::<usize>()
                    .with_context(|| format!("layer `{tok}`: {digits} is too large"))?,
            ));
            digits.clear();
            letter = Some(ch);
        } else {
            bail!("layer `{tok}`: unexpected character `{ch}`");
        }
    }
    if digits.is_empty() {
        bail!("layer `{tok}`: expected a number at the end");
    }
    parts.push((
        letter,
        digits
            .parse::<usize>()
            .with_context(|| format!("layer `{tok}`: {digits} is too large"))?,
    ));
    if let Some((_, n)) = parts.iter().find(|p| p.1 > LARGEST) {
        bail!("layer `{tok}`: {n} is too large (at most {LARGEST})");
    }
    let first = match parts[0] {
        (None, n) => n,
        _ => bail!("layer `{tok}`: missing size"),
    };
    Ok((
        first,
        parts[1..].iter().map(|&(l, n)| (l.unwrap(), n)).collect(),
    ))
}

fn parse_token(tok: &str) -> Result<LayerSpec> {
    let lower = tok.to_ascii_lowercase();
    let t = lower.as_str();
    if t == "if" {
        return Ok(LayerSpec::Neuron);
    }
    if t == "flat" || t == "flatten" {
        return Ok(LayerSpec::Flatten);
    }
    let positive = |v: usize, what: &str| -> Result<usize> {
        if v == 0 {
            bail!("layer `{tok}`: {what} must be at least 1");
        }
        Ok(v)
    };
    if let Some(body) = t.strip_prefix("fc") {
        let (n, opts) = number_and_options(tok, body)?;
        if !opts.is_empty() {
            bail!("layer `{tok}`: fc takes only a size, e.g. fc400");
        }
        return Ok(LayerSpec::Linear {
            out: positive(n, "the output size")?,
        });
    }
    if let Some(body) = t.strip_prefix("conv") {
        let (out, opts) = number_and_options(tok, body)?;
        let (mut k, mut stride, mut pad) = (None, 1, 0);
        for (l, v) in opts {
            match l {
                'k' => k = Some(positive(v, "the kernel size")?),
                's' => stride = positive(v, "the stride")?,
                'p' => pad = v,
                _ => bail!("layer `{tok}`: unknown option `{l}` (use k, s, p)"),
            }
        }
        let k =
            k.with_context(|| format!("layer `{tok}`: missing kernel size, e.g. conv32k3p1"))?;
        return Ok(LayerSpec::Conv {
            out: positive(out, "the channel count")?,
            k,
            stride,
            pad,
        });
    }
    for prefix in ["ap", "mp", "fp"] {
        if let Some(body) = t.strip_prefix(prefix) {
            let (k, opts) = number_and_options(tok, body)?;
            let k = positive(k, "the window")?;
            let mut stride = k;
            for (l, v) in opts {
                match l {
                    's' => stride = positive(v, "the stride")?,
                    _ => bail!("layer `{tok}`: unknown option `{l}` (use s)"),
                }
            }
            return Ok(match prefix {
                "ap" => LayerSpec::AvgPool { k, stride },
                "mp" => LayerSpec::MaxPool { k, stride },
                _ => LayerSpec::FirstSpikePool { k, stride },
            });
        }
    }
    bail!(
        "unknown layer `{tok}` (expected fc<N>, conv<C>k<K>[s<S>][p<P>], ap<K>, mp<K>, fp<K>, if or flat)"
    )
}

/// Parse a model spec. Errors name the offending token.
pub fn parse(spec: &str) -> Result<Vec<LayerSpec>> {
    let layers: Vec<LayerSpec> = spec
        .split(|c: char| c.is_whitespace() || c == ',' || c == '-')
        .filter(|s| !s.is_empty())
        .map(parse_token)
        .collect::<Result<_>>()
        .with_context(|| format!("in model spec `{spec}`"))?;
    // First-spike pooling latches on a window's first nonzero value: meaningful for spikes,
    // not for currents (nonzero from step 0 on).
    for (i, l) in layers.iter().enumerate() {
        if matches!(l, LayerSpec::FirstSpikePool { .. })
            && (i == 0 || layers[i - 1] != LayerSpec::Neuron)
        {
            bail!("model spec `{spec}`: first-spike pooling (fp<K>, layer {}) pools spikes and must follow `if` (e.g. `conv32k3p1 if fp2`); pool currents with ap<K> or mp<K>", i + 1);
        }
    }
    match layers.last() {
        None => bail!("model spec is empty"),
        Some(l) if !l.is_synapse() => {
            bail!("model spec `{spec}` must end with a synapse (fc or conv): the decoder owns the output neurons")
        }
        _ => Ok(layers),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_paper_networks() {
        let mlp = parse("fc400 if fc400 if fc10").unwrap();
        assert_eq!(mlp.len(), 5);
        assert_eq!(mlp[0], LayerSpec::Linear { out: 400 });
        let cnn = parse("conv32k3p1 ap2 if conv64k3s2p1, mp2s1 if fc10").unwrap();
        assert_eq!(
            cnn[0],
            LayerSpec::Conv {
                out: 32,
                k: 3,
                stride: 1,
                pad: 1
            }
        );
        assert_eq!(cnn[1], LayerSpec::AvgPool { k: 2, stride: 2 });
        assert_eq!(
            cnn[3],
            LayerSpec::Conv {
                out: 64,
                k: 3,
                stride: 2,
                pad: 1
            }
        );
        assert_eq!(cnn[4], LayerSpec::MaxPool { k: 2, stride: 1 });
        assert_eq!(
            parse("conv8k3 if fp3s2 fc2").unwrap()[2],
            LayerSpec::FirstSpikePool { k: 3, stride: 2 }
        );
        let err = parse("conv8k3 fp2 if fc2").unwrap_err().to_string();
        assert!(err.contains("must follow `if`"), "{err}");
    }

    #[test]
    fn errors_name_the_token() {
        let e = format!("{:#}", parse("fc400 if fx10").unwrap_err());
        assert!(e.contains("unknown layer `fx10`"), "{e}");
        let e = format!("{:#}", parse("conv32p1 if fc10").unwrap_err());
        assert!(e.contains("missing kernel size"), "{e}");
        let e = format!("{:#}", parse("fc400 if").unwrap_err());
        assert!(e.contains("must end with a synapse"), "{e}");
        assert!(parse("").is_err());
        assert!(parse("fc0").is_err());
        let e = format!("{:#}", parse("fc99999999999 if fc10").unwrap_err());
        assert!(e.contains("99999999999 is too large"), "{e}");
        let e = format!(
            "{:#}",
            parse("fc99999999999999999999999 if fc10").unwrap_err()
        );
        assert!(e.contains("is too large"), "{e}");
        let t = "conv32k3s2p1 ap2s2 mp3s1 if fp2s2 flat fc10";
        let back: Vec<String> = parse(t).unwrap().iter().map(|l| l.to_string()).collect();
        assert_eq!(back.join(" "), t);
    }
}
