//! Just enough POSIX shell reading for the checks: split a command line into simple
//! commands (on `&&`, `||`, `;`, `|`, `&`, newlines) and each into words (quotes removed),
//! keeping which commands are joined by a pipe.

/// One simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub words: Vec<String>,
    /// This command reads the previous command's output through a pipe.
    pub piped_from_previous: bool,
    /// Raw text of the command (for `$(...)` / `<(...)` detection).
    pub raw: String,
}

impl Command {
    /// The program, skipping `sudo`, `env X=Y`, leading assignments, `exec`, `command`.
    pub fn program(&self) -> Option<(&str, &[String])> {
        let mut i = 0;
        while i < self.words.len() {
            let w = self.words[i].as_str();
            if matches!(w, "sudo" | "exec" | "command" | "nohup" | "time" | "env")
                || is_assignment(w)
                || (i > 0 && w.starts_with('-') && is_wrapper(&self.words[i - 1]))
            {
                i += 1;
                continue;
            }
            let base = w.rsplit('/').next().unwrap_or(w);
            return Some((base, &self.words[i + 1..]));
        }
        None
    }
}

fn is_wrapper(w: &str) -> bool {
    matches!(w, "sudo" | "env")
}

fn is_assignment(w: &str) -> bool {
    match w.split_once('=') {
        Some((n, _)) => {
            !n.is_empty()
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !n.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Splits shell text into simple commands.
pub fn commands(text: &str) -> Vec<Command> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut raw = String::new();
    let mut piped = false;
    let mut chars = text.chars().peekable();
    let mut depth = 0usize; // inside $( ... ) or <( ... ) or ( ... )

    let flush_word = |word: &mut String, in_word: &mut bool, words: &mut Vec<String>| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };

    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                raw.push(c);
                in_word = true;
                for d in chars.by_ref() {
                    raw.push(d);
                    if d == '\'' {
                        break;
                    }
                    word.push(d);
                }
            }
            '"' => {
                raw.push(c);
                in_word = true;
                while let Some(d) = chars.next() {
                    raw.push(d);
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            raw.push(e);
                            word.push(e);
                        }
                        continue;
                    }
                    if d == '"' {
                        break;
                    }
                    word.push(d);
                }
            }
            '\\' => {
                raw.push(c);
                if let Some(e) = chars.next() {
                    raw.push(e);
                    if e != '\n' {
                        word.push(e);
                        in_word = true;
                    }
                }
            }
            '(' => {
                depth += 1;
                raw.push(c);
                word.push(c);
                in_word = true;
            }
            ')' => {
                depth = depth.saturating_sub(1);
                raw.push(c);
                word.push(c);
                in_word = true;
            }
            '#' if !in_word && depth == 0 => {
                // Comment to end of line.
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
                flush_word(&mut word, &mut in_word, &mut words);
                push_cmd(&mut out, &mut words, &mut raw, piped);
                piped = false;
            }
            c if c.is_whitespace() && c != '\n' => {
                raw.push(c);
                flush_word(&mut word, &mut in_word, &mut words);
            }
            ';' | '\n' | '&' | '|' if depth == 0 => {
                flush_word(&mut word, &mut in_word, &mut words);
                let mut next_piped = false;
                if c == '|' {
                    if chars.peek() == Some(&'|') {
                        chars.next();
                    } else {
                        next_piped = true;
                    }
                } else if (c == '&' || c == ';') && chars.peek() == Some(&c) {
                    // `&&` and `;;` are one operator.
                    chars.next();
                }
                push_cmd(&mut out, &mut words, &mut raw, piped);
                piped = next_piped;
            }
            c => {
                raw.push(c);
                word.push(c);
                in_word = true;
            }
        }
    }
    flush_word(&mut word, &mut in_word, &mut words);
    push_cmd(&mut out, &mut words, &mut raw, piped);
    out
}

fn push_cmd(out: &mut Vec<Command>, words: &mut Vec<String>, raw: &mut String, piped: bool) {
    if !words.is_empty() {
        out.push(Command {
            words: std::mem::take(words),
            piped_from_previous: piped,
            raw: std::mem::take(raw).trim().to_string(),
        });
    } else {
        raw.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lists_and_pipes() {
        let c = commands(
            "apt-get update && apt-get install -y 'a b' \"c\" | tee x; curl -s u|sh # c\nls",
        );
        let w: Vec<_> = c.iter().map(|c| c.words.join(",")).collect();
        assert_eq!(
            w,
            [
                "apt-get,update",
                "apt-get,install,-y,a b,c",
                "tee,x",
                "curl,-s,u",
                "sh",
                "ls"
            ]
        );
        assert!(c[2].piped_from_previous && c[4].piped_from_previous && !c[3].piped_from_previous);
        assert_eq!(
            commands("sudo -E DEBIAN_FRONTEND=x /usr/bin/apk add a")[0]
                .program()
                .map(|p| p.0),
            Some("apk")
        );
        assert_eq!(commands("sh -c \"$(curl -fsSL x | y)\"").len(), 1);
    }
}
