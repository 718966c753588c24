//! `LOLWUT [VERSION v] [arguments ...]`, as Redis 7.0 draws it: version 5 is Georg Nees's
//! "Schotter" in Braille characters (`LOLWUT VERSION 5 [cols] [squares-per-row]
//! [squares-per-col]`), version 6 a city skyline in four terminal grays (`LOLWUT VERSION 6
//! [cols] [rows]`), every other version (and no VERSION) the version line alone, Redis 7.0's
//! own piece being that line.
//!
//! The drawing code follows Redis's lolwut.c, lolwut5.c and lolwut6.c step by step,
//! including C's float rounding, so whatever Redis draws without `rand()` (the two top rows
//! of squares of Schotter, the sky above the tallest building) comes out byte for byte the
//! same; the random parts come from this process's generator, in Redis's ranges. Redis
//! bounds the arguments (1..=1000 columns and rows, 1..=200 squares); the largest Schotter
//! is still a canvas of 2000 × ~400000 pixels, kept here at two bits a pixel (100 MiB
//! rather than Redis's 800 MiB) and only while the command runs.
//!
//! Must not: block the connection's runtime longer than Redis would block its server (the
//! work is the same); hold anything after the reply is built.

use rand::Rng;
use tandem_commands::args::{parse_i64, Args};
use tandem_shared::Reply;

use super::client::REDIS_VERSION;
use crate::error::CommandError;
use crate::session::{Flow, LocalResult};

/// C's `RAND_MAX` on glibc.
const RAND_MAX: i32 = i32::MAX;

/// `LOLWUT [VERSION v] ...`.
pub fn lolwut(mut args: Args) -> LocalResult {
    let mut rest = args.rest_vecs();
    // Redis takes VERSION only as the first argument and when a value follows it, and
    // formats the value as an unsigned int ("%u.0.0"), so -4294967291 is version 5.
    let mut version = None;
    if rest.len() >= 2 && rest[0].eq_ignore_ascii_case(b"version") {
        let v = long(&rest[1])?;
        version = Some(v as u32);
        rest.drain(..2);
    }
    let text = match version {
        Some(5) => schotter_command(&rest)?,
        Some(6) => skyline_command(&rest)?,
        _ => format!("Redis ver. {REDIS_VERSION}\n").into_bytes(),
    };
    Ok((Reply::Verbatim(text), Flow::Continue))
}

/// Redis's `getLongFromObjectOrReply`.
fn long(arg: &[u8]) -> Result<i64, CommandError> {
    parse_i64(arg).ok_or_else(|| CommandError::err("value is not an integer or out of range"))
}

/// The `i`-th version-specific argument, parsed, or `default`.
fn arg_or(args: &[Vec<u8>], i: usize, default: i64) -> Result<i64, CommandError> {
    args.get(i).map_or(Ok(default), |a| long(a))
}

/// C's `rand()`: uniform in `0..=RAND_MAX`.
fn rand_c(rng: &mut impl Rng) -> i32 {
    rng.gen_range(0..=RAND_MAX)
}

/// A canvas of `width` × `height` pixels of colors 0..=3, two bits each. Drawing outside it
/// is ignored and reading outside it gives 0, as Redis's `lwDrawPixel`/`lwGetPixel`.
struct Canvas {
    width: i32,
    height: i32,
    bits: Vec<u8>,
}

impl Canvas {
    fn new(width: i32, height: i32, background: u8) -> Canvas {
        let pixels = width.max(0) as usize * height.max(0) as usize;
        let fill = (background & 3) * 0b0101_0101;
        Canvas {
            width,
            height,
            bits: vec![fill; pixels.div_ceil(4)],
        }
    }

    fn at(&self, x: i32, y: i32) -> Option<usize> {
        (x >= 0 && x < self.width && y >= 0 && y < self.height)
            .then(|| x as usize + y as usize * self.width as usize)
    }

    fn draw(&mut self, x: i32, y: i32, color: u8) {
        if let Some(i) = self.at(x, y) {
            let shift = (i % 4) * 2;
            let byte = &mut self.bits[i / 4];
            *byte = (*byte & !(3 << shift)) | ((color & 3) << shift);
        }
    }

    fn get(&self, x: i32, y: i32) -> u8 {
        self.at(x, y)
            .map_or(0, |i| (self.bits[i / 4] >> ((i % 4) * 2)) & 3)
    }

    /// Bresenham's line, as `lwDrawLine`.
    fn line(&mut self, mut x1: i32, mut y1: i32, x2: i32, y2: i32, color: u8) {
        let dx = (x2 - x1).abs();
        let dy = (y2 - y1).abs();
        let sx = if x1 < x2 { 1 } else { -1 };
        let sy = if y1 < y2 { 1 } else { -1 };
        let mut err = dx - dy;
        loop {
            self.draw(x1, y1, color);
            if x1 == x2 && y1 == y2 {
                break;
            }
            let e2 = err * 2;
            if e2 > -dy {
                err -= dy;
                x1 += sx;
            }
            if e2 < dx {
                err += dx;
                y1 += sy;
            }
        }
    }

    /// A square centred on `x, y`, of side `size`, turned by `angle`, as `lwDrawSquare`
    /// computes it: its corners on the circle through them, in C's mix of float and double.
    // Redis divides by the literal 1.4142135623, not by √2 to double precision: the same
    // literal keeps every rounding of the corners Redis's.
    #[allow(clippy::approx_constant)]
    fn square(&mut self, x: i32, y: i32, size: f32, angle: f32, color: u8) {
        let mut size = (f64::from(size) / 1.414_213_562_3) as f32;
        size = f64::from(size).round() as f32;
        let mut k = (std::f64::consts::FRAC_PI_4 + f64::from(angle)) as f32;
        let mut px = [0i32; 4];
        let mut py = [0i32; 4];
        for j in 0..4 {
            px[j] = (f64::from(k).sin() * f64::from(size) + f64::from(x)).round() as i32;
            py[j] = (f64::from(k).cos() * f64::from(size) + f64::from(y)).round() as i32;
            k = (f64::from(k) + std::f64::consts::FRAC_PI_2) as f32;
        }
        for j in 0..4 {
            let n = (j + 1) % 4;
            self.line(px[j], py[j], px[n], py[n], color);
        }
    }
}

/// `LOLWUT VERSION 5 [cols] [squares-per-row] [squares-per-col]` (defaults 66, 8, 12).
fn schotter_command(args: &[Vec<u8>]) -> Result<Vec<u8>, CommandError> {
    let cols = arg_or(args, 0, 66)?.clamp(1, 1000) as i32;
    let per_row = arg_or(args, 1, 8)?.clamp(1, 200) as i32;
    let per_col = arg_or(args, 2, 12)?.clamp(1, 200) as i32;
    let canvas = schotter(cols, per_row, per_col, &mut rand::thread_rng());
    let mut text = render_braille(&canvas);
    text.extend_from_slice(b"\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. ");
    text.extend_from_slice(REDIS_VERSION.as_bytes());
    text.push(b'\n');
    Ok(text)
}

/// `lwDrawSchotter`: rows of squares, each row below the second turned and moved a little
/// more at random.
fn schotter(cols: i32, per_row: i32, per_col: i32, rng: &mut impl Rng) -> Canvas {
    let width = cols * 2;
    let padding = if width > 4 { 2 } else { 0 };
    let side = (width - padding * 2) as f32 / per_row as f32;
    let height = (side * per_col as f32 + (padding * 2) as f32) as i32;
    let mut canvas = Canvas::new(width, height, 0);
    for y in 0..per_col {
        for x in 0..per_row {
            let mut sx = (x as f32 * side + side / 2.0 + padding as f32) as i32;
            let mut sy = (y as f32 * side + side / 2.0 + padding as f32) as i32;
            let mut angle = 0f32;
            if y > 1 {
                let scale = |r: i32| r as f32 / RAND_MAX as f32 / per_col as f32 * y as f32;
                let mut r1 = scale(rand_c(rng));
                let mut r2 = scale(rand_c(rng));
                let mut r3 = scale(rand_c(rng));
                if rand_c(rng) % 2 != 0 {
                    r1 = -r1;
                }
                if rand_c(rng) % 2 != 0 {
                    r2 = -r2;
                }
                if rand_c(rng) % 2 != 0 {
                    r3 = -r3;
                }
                angle = r1;
                sx = (sx as f32 + r2 * side / 3.0) as i32;
                sy = (sy as f32 + r3 * side / 3.0) as i32;
            }
            canvas.square(sx, sy, side, angle, 1);
        }
    }
    canvas
}

/// The canvas as Braille characters, one per 2 × 4 pixels, rows joined by newlines (none
/// after the last unless the height is one more than a multiple of four, as in Redis).
fn render_braille(canvas: &Canvas) -> Vec<u8> {
    let mut text = Vec::new();
    let mut y = 0;
    while y < canvas.height {
        let mut x = 0;
        while x < canvas.width {
            let dots = [
                (x, y),
                (x, y + 1),
                (x, y + 2),
                (x + 1, y),
                (x + 1, y + 1),
                (x + 1, y + 2),
                (x, y + 3),
                (x + 1, y + 3),
            ];
            let byte = dots.iter().enumerate().fold(0u32, |b, (bit, &(px, py))| {
                if canvas.get(px, py) != 0 {
                    b | (1 << bit)
                } else {
                    b
                }
            });
            let code = 0x2800 + byte;
            text.push(0xE0 | (code >> 12) as u8);
            text.push(0x80 | ((code >> 6) & 0x3F) as u8);
            text.push(0x80 | (code & 0x3F) as u8);
            x += 2;
        }
        if y != canvas.height - 1 {
            text.push(b'\n');
        }
        y += 4;
    }
    text
}

/// `LOLWUT VERSION 6 [cols] [rows]` (defaults 80, 20).
fn skyline_command(args: &[Vec<u8>]) -> Result<Vec<u8>, CommandError> {
    let cols = arg_or(args, 0, 80)?.clamp(1, 1000) as i32;
    let rows = arg_or(args, 1, 20)?.clamp(1, 1000) as i32;
    let mut canvas = Canvas::new(cols, rows, 3);
    skyline(&mut canvas, &mut rand::thread_rng());
    let mut text = render_grays(&canvas);
    text.extend_from_slice(
        b"\nDedicated to the 8 bit game developers of past and present.\n\
          Original 8 bit image from Plaguemon by hikikomori. Redis ver. ",
    );
    text.extend_from_slice(REDIS_VERSION.as_bytes());
    text.push(b'\n');
    Ok(text)
}

/// One building of the skyline (`struct skyscraper`).
struct Skyscraper {
    xoff: i32,
    width: i32,
    height: i32,
    windows: bool,
    color: u8,
}

/// `generateSkyscraper`: a building standing on the bottom row, its roof two pixels
/// narrower on each side, windows two pixels wide in one of the two grays.
fn skyscraper(canvas: &mut Canvas, si: &Skyscraper, rng: &mut impl Rng) {
    let start_y = canvas.height - 1;
    let end_y = start_y - si.height + 1;
    let mut y = start_y;
    while y >= end_y {
        for x in si.xoff..si.xoff + si.width {
            if y == end_y && (x <= si.xoff + 1 || x >= si.xoff + si.width - 2) {
                continue;
            }
            let mut color = si.color;
            if si.windows
                && x > si.xoff + 1
                && x < si.xoff + si.width - 2
                && y > end_y + 1
                && y < start_y - 1
            {
                let rel_x = x - (si.xoff + 1);
                let rel_y = y - (end_y + 1);
                if (rel_x / 2) % 2 != 0 && rel_y % 2 != 0 {
                    loop {
                        color = 1 + (rand_c(rng) % 2) as u8;
                        if color != si.color {
                            break;
                        }
                    }
                    if rel_x % 2 != 0 {
                        color = canvas.get(x - 1, y);
                    }
                }
            }
            canvas.draw(x, y, color);
        }
        y -= 1;
    }
}

/// `generateSkyline`: two rows of background buildings in the grays (the lighter behind),
/// then black ones with windows in front.
fn skyline(canvas: &mut Canvas, rng: &mut impl Rng) {
    let (w, h) = (canvas.width, canvas.height);
    for color in [2u8, 1] {
        let mut offset = -10;
        while offset < w {
            offset += rand_c(rng) % 8;
            let width = 10 + rand_c(rng) % 9;
            let height = if color == 2 {
                h / 2 + (rand_c(rng) % h) / 2
            } else {
                h / 2 + (rand_c(rng) % h) / 3
            };
            let si = Skyscraper {
                xoff: offset,
                width,
                height,
                windows: false,
                color,
            };
            skyscraper(canvas, &si, rng);
            offset += if color == 2 { width / 2 } else { width + 1 };
        }
    }
    let mut offset = -10;
    while offset < w {
        offset += rand_c(rng) % 8;
        let mut width = 5 + rand_c(rng) % 14;
        if width % 4 != 0 {
            width += width % 3;
        }
        let height = h / 3 + (rand_c(rng) % h) / 2;
        let si = Skyscraper {
            xoff: offset,
            width,
            height,
            windows: true,
            color: 0,
        };
        skyscraper(canvas, &si, rng);
        offset += width + 5;
    }
}

/// Each pixel as a space in its gray, foreground and background both set, rows joined by
/// newlines.
fn render_grays(canvas: &Canvas) -> Vec<u8> {
    let mut text = Vec::new();
    for y in 0..canvas.height {
        for x in 0..canvas.width {
            let escape: &[u8] = match canvas.get(x, y) {
                1 => b"0;90;100m",
                2 => b"0;37;47m",
                3 => b"0;97;107m",
                _ => b"0;30;40m",
            };
            text.extend_from_slice(b"\x1b[");
            text.extend_from_slice(escape);
            text.extend_from_slice(b" \x1b[0m");
        }
        if y != canvas.height - 1 {
            text.push(b'\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<String, String> {
        let args = Args::new(
            args.iter()
                .map(|a| bytes::Bytes::copy_from_slice(a.as_bytes()))
                .collect(),
        );
        match lolwut(args) {
            Ok((Reply::Verbatim(text), _)) => Ok(String::from_utf8_lossy(&text).into_owned()),
            Ok((other, _)) => panic!("{other:?}"),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn versions_are_picked_as_redis_picks_them() {
        let line = format!("Redis ver. {REDIS_VERSION}\n");
        assert_eq!(run(&[]).as_deref(), Ok(line.as_str()));
        assert_eq!(run(&["5"]).as_deref(), Ok(line.as_str()));
        assert_eq!(run(&["VERSION"]).as_deref(), Ok(line.as_str()));
        assert_eq!(run(&["version", "7", "1"]).as_deref(), Ok(line.as_str()));
        assert!(run(&["VERSION", "4294967301"])
            .expect("v5")
            .contains("schotter"));
        assert!(run(&["VERSION", "-4294967290"])
            .expect("v6")
            .contains("Plaguemon"));
        let not_int = Err("ERR value is not an integer or out of range".to_owned());
        assert_eq!(run(&["VERSION", "x"]), not_int);
        assert_eq!(run(&["VERSION", "5", "1", "x"]), not_int);
        assert_eq!(run(&["VERSION", "6", "x"]), not_int);
    }

    #[test]
    fn tiny_schotter_matches_redis() {
        // Redis 7.0.15's replies to `LOLWUT VERSION 5 1 1 1` and `... 2 1 1`, with no
        // random part (a single row of squares).
        let tail = format!(
            "\n\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. {REDIS_VERSION}\n"
        );
        assert_eq!(
            run(&["VERSION", "5", "1", "1", "1"]),
            Ok(format!("\u{280b}{tail}"))
        );
        assert_eq!(
            run(&["VERSION", "5", "2", "1", "1"]),
            Ok(format!("\u{284f}\u{2809}{tail}"))
        );
    }

    #[test]
    fn skyline_has_its_sky_and_size() {
        let text = run(&["VERSION", "6", "10", "5"]).expect("skyline");
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines.len(), 5 + 3);
        let white = "\x1b[0;97;107m \x1b[0m";
        assert_eq!(
            lines[0],
            white.repeat(10),
            "no building reaches the top row"
        );
        for row in &lines[..5] {
            assert_eq!(row.matches("\x1b[0m").count(), 10);
        }
        assert_eq!(
            lines[5],
            "Dedicated to the 8 bit game developers of past and present."
        );
        assert_eq!(lines[7], "");
    }
}
