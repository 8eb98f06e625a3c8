'use strict';
// sharp's AVIF lane for benches/avif_compare.py (not run by hand). Same protocol as
// ../shared/bench/sharp_worker.js: argv[2] is a JSON config {files, outputs, reps, warmup};
// loads the inputs, warms up, prints READY, waits for one stdin line, runs `reps` timed
// passes, prints one JSON line. With config.save = DIR it instead writes every output to
// DIR/<stem>.<output name>.avif and exits.
// Each output is its own pipeline (shrink-on-load, auto-orient, Lanczos3, AVIF), as
// sharp_worker.js's 'sharp' peer does for JPEG and WebP.
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const sharp = require('sharp');

const cfg = JSON.parse(process.argv[2]);
sharp.concurrency(1); // one libvips thread, hence one libheif/libaom thread
sharp.cache(false);

const orient = (img) => (typeof img.autoOrient === 'function' ? img.autoOrient() : img.rotate());

function render(buf, o) {
  return orient(sharp(buf))
    .resize(o.size, o.size, { fit: 'inside', withoutEnlargement: true })
    .avif({ quality: o.quality, effort: o.effort, chromaSubsampling: o.chroma || '4:4:4' })
    .toBuffer();
}

async function pass(inputs) {
  let total = 0;
  for (const b of inputs) {
    for (const o of cfg.outputs) total += (await render(b, o)).length;
  }
  return total;
}

async function save(dir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of cfg.files) {
    const stem = path.basename(f).replace(/\.[^.]*$/, '');
    const buf = fs.readFileSync(f);
    for (const o of cfg.outputs) fs.writeFileSync(path.join(dir, `${stem}.${o.name}.avif`), await render(buf, o));
  }
}

async function main() {
  if (cfg.save) return save(cfg.save);
  const inputs = cfg.files.map((f) => fs.readFileSync(f));
  let bytesOut = 0;
  for (let w = 0; w < (cfg.warmup ?? 1); w++) bytesOut = await pass(inputs);
  process.stdout.write('READY\n');
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => rl.once('line', resolve));
  rl.close();
  const now = () => Number(process.hrtime.bigint()) / 1e9;
  const reps = [];
  const cpu = []; // user + system CPU of the process (every thread), per pass
  for (let r = 0; r < cfg.reps; r++) {
    const [t0, c0] = [now(), process.cpuUsage()];
    await pass(inputs);
    reps.push([t0, now()]);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  const v = sharp.versions;
  process.stdout.write(JSON.stringify({
    library: 'sharp',
    version: `sharp ${v.sharp}, libvips ${v.vips}, libheif ${v.heif || '?'}, aom ${v.aom || '?'}`,
    reps,
    cpu_seconds: cpu,
    bytes_out_per_pass: bytesOut,
  }) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
