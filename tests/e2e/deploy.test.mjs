// The deployment artefacts: deploy/rushcast.service passes systemd-analyze verify, and the
// .deb from `cpack -G DEB` holds the binary, config, unit, pages and the nginx example.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, SOURCE_DIR, makeTempDir } from './lib/daemon.mjs';

const UNIT = path.join(SOURCE_DIR, 'deploy', 'rushcast.service');
const BUILD_DIR = path.dirname(BIN);
const temps = [];
after(() => { for (const d of temps) fs.rmSync(d, { recursive: true, force: true }); });

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300000, ...opts });
  if (r.error) throw r.error;
  return r;
}

// systemd-analyze verify also checks that ExecStart's binary exists. Where rushcast is not
// installed, a private mount namespace overlays the built binary onto /usr/bin; where that is
// not permitted, a copy of the unit names the built binary instead.
function verifyUnit(unitFile) {
  if (fs.existsSync('/usr/bin/rushcast')) return run('systemd-analyze', ['verify', unitFile]);
  const dir = makeTempDir('rushcast-unit-');
  temps.push(dir);
  fs.mkdirSync(path.join(dir, 'upper'));
  fs.mkdirSync(path.join(dir, 'work'));
  fs.copyFileSync(BIN, path.join(dir, 'upper', 'rushcast'));
  fs.chmodSync(path.join(dir, 'upper', 'rushcast'), 0o755);
  const script = `mount -t overlay overlay -o lowerdir=/usr/bin,upperdir=${dir}/upper,` +
    `workdir=${dir}/work /usr/bin && exec systemd-analyze verify "$0"`;
  const r = run('unshare', ['-m', 'sh', '-c', script, unitFile]);
  if (!/mount|unshare|[Pp]ermission/.test(r.stderr) || r.status === 0) return r;
  const copy = path.join(dir, 'rushcast.service');
  fs.writeFileSync(copy, fs.readFileSync(unitFile, 'utf8').replaceAll('/usr/bin/rushcast', BIN));
  return run('systemd-analyze', ['verify', copy]);
}

test('systemd-analyze verify accepts deploy/rushcast.service', { timeout: 60000 }, () => {
  const r = verifyUnit(UNIT);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(r.stderr.trim(), '', 'no warnings either');
  const unit = fs.readFileSync(UNIT, 'utf8');
  for (const line of ['Type=notify', 'NotifyAccess=main', 'WatchdogSec=30',
    'ExecStart=/usr/bin/rushcast --config /etc/rushcast/rushcast.json --data-dir /var/lib/rushcast',
    'ExecReload=/bin/kill -HUP $MAINPID', 'Restart=on-failure', 'LimitNOFILE=1048576',
    'StateDirectory=rushcast', 'NoNewPrivileges=yes', 'ProtectSystem=strict',
    'CapabilityBoundingSet=', 'AmbientCapabilities=']) {
    assert.ok(unit.split('\n').includes(line), `unit has ${line}`);
  }
});

test('the unit\'s command lines are ones the daemon accepts', { timeout: 30000 }, () => {
  // --check-config on the demo config with the unit's flags: exit 0 means flags and file parse.
  const cfg = path.join(SOURCE_DIR, 'config', 'rushcast.json');
  const dataDir = makeTempDir('rushcast-cc-');
  temps.push(dataDir);
  const r = run(BIN, ['--check-config', '--config', cfg, '--data-dir', dataDir],
    { timeout: 20000, cwd: SOURCE_DIR });
  assert.equal(r.status, 0, r.stderr + r.stdout);
});

test('the cluster template unit verifies and differs from the single unit only per node', {
  timeout: 60000,
}, () => {
  // An instance of the template (the port), next to the target it is PartOf, naming the built
  // binary (systemd-analyze verify checks ExecStart's binary exists).
  const dir = makeTempDir('rushcast-tmpl-');
  temps.push(dir);
  const tmpl = fs.readFileSync(path.join(SOURCE_DIR, 'deploy', 'systemd', 'rushcast@.service'),
    'utf8');
  fs.writeFileSync(path.join(dir, 'rushcast@8081.service'),
    tmpl.replaceAll('/usr/bin/rushcast', BIN));
  fs.copyFileSync(path.join(SOURCE_DIR, 'deploy', 'systemd', 'rushcast-cluster.target'),
    path.join(dir, 'rushcast-cluster.target'));
  const r = run('systemd-analyze', ['verify', path.join(dir, 'rushcast@8081.service')]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(r.stderr.trim(), '', 'no warnings either');
  // The sandbox and limits are the single unit's, line for line.
  const single = fs.readFileSync(UNIT, 'utf8').split('\n');
  const lines = tmpl.split('\n');
  for (const key of ['Type=', 'WatchdogSec=', 'LimitNOFILE=', 'ProtectSystem=', 'SystemCallFilter=',
    'User=', 'RestartPreventExitStatus=']) {
    assert.deepEqual(lines.filter((l) => l.startsWith(key)), single.filter((l) => l.startsWith(key)),
      key);
  }
  // The instance's flags are ones the daemon accepts.
  const cfg = path.join(SOURCE_DIR, 'config', 'rushcast.json');
  const cc = run(BIN, ['--check-config', '--config', cfg, '--listen', '127.0.0.1:8081',
    '--data-dir', path.join(dir, '8081')], { timeout: 20000, cwd: SOURCE_DIR });
  assert.equal(cc.status, 0, cc.stderr + cc.stdout);
  assert.match(tmpl, /--listen 127\.0\.0\.1:%i/);
  assert.match(tmpl, /--data-dir \/var\/lib\/rushcast\/%i/);
});

test('cpack -G DEB builds a package with everything an install needs', { timeout: 600000 }, () => {
  assert.ok(fs.existsSync(path.join(BUILD_DIR, 'CPackConfig.cmake')),
    `no CPackConfig.cmake in ${BUILD_DIR}`);
  const out = makeTempDir('rushcast-deb-');
  temps.push(out);
  const pack = run('cpack', ['-G', 'DEB', '--config', path.join(BUILD_DIR, 'CPackConfig.cmake'),
    '-B', out], { cwd: BUILD_DIR });
  assert.equal(pack.status, 0, pack.stderr + pack.stdout);
  const deb = fs.readdirSync(out).find((f) => f.endsWith('.deb'));
  assert.ok(deb, `no .deb in ${fs.readdirSync(out)}`);
  assert.match(deb, /^rushcast_\d+\.\d+\.\d+_[a-z0-9]+\.deb$/);
  const debPath = path.join(out, deb);

  const list = run('dpkg-deb', ['-c', debPath]);
  assert.equal(list.status, 0, list.stderr);
  const files = list.stdout.split('\n').map((l) => l.split(/\s+/).pop().replace(/^\./, ''));
  for (const f of ['/usr/bin/rushcast', '/etc/rushcast/rushcast.json',
    '/lib/systemd/system/rushcast.service', '/usr/share/rushcast/web/index.html',
    '/usr/share/rushcast/web/dashboard.html',
    '/usr/share/doc/rushcast/examples/nginx/rushcast.conf',
    '/usr/share/doc/rushcast/examples/nginx/rushcast-tls.conf',
    '/usr/share/doc/rushcast/OPERATIONS.md']) {
    assert.ok(files.includes(f), `${f} in the package:\n${list.stdout}`);
  }
  // The nginx site is an example: installing the package changes nothing nginx serves.
  assert.deepEqual(files.filter((f) => f.startsWith('/etc/nginx')), []);
  assert.match(list.stdout, /-rwxr-xr-x\s+root\/root\s+\d+\s+\S+\s+\S+\s+\.\/usr\/bin\/rushcast/);

  const info = run('dpkg-deb', ['-I', debPath]);
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, /Package: rushcast/);
  const depends = /Depends: (.*)/.exec(info.stdout)?.[1] || '';
  for (const dep of ['adduser', 'libspdlog', 'libsqlite3', 'libssl', 'libstdc++6']) {
    assert.ok(depends.includes(dep), `Depends has ${dep}: ${depends}`);
  }
  assert.match(info.stdout, /Recommends: .*ssl-cert/, 'the snakeoil pair the nginx example names');
  for (const script of ['postinst', 'prerm', 'postrm', 'conffiles']) {
    assert.match(info.stdout, new RegExp(`\\b${script}\\b`), `control has ${script}`);
  }

  // Unpacked: the binary runs, the config points at the installed pages, the scripts parse,
  // the unit still verifies and the conffile is the config.
  const root = path.join(out, 'root');
  assert.equal(run('dpkg-deb', ['-x', debPath, root]).status, 0);
  const ctrl = path.join(out, 'control');
  assert.equal(run('dpkg-deb', ['-e', debPath, ctrl]).status, 0);
  const version = run(path.join(root, 'usr/bin/rushcast'), ['--version']);
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, /rushcast \d+\.\d+\.\d+/);
  const cfg = JSON.parse(fs.readFileSync(path.join(root, 'etc/rushcast/rushcast.json'), 'utf8'));
  assert.equal(cfg.static_dir, '/usr/share/rushcast/web');
  assert.equal(cfg.data_dir, '/var/lib/rushcast');
  assert.equal(cfg.listen.address, '127.0.0.1', 'behind nginx by default');
  assert.equal(cfg.auth.publish_key, '', 'no well-known publish key in a package');
  const check = run(path.join(root, 'usr/bin/rushcast'), ['--check-config', '--config',
    path.join(root, 'etc/rushcast/rushcast.json')]);
  assert.equal(check.status, 0, check.stderr + check.stdout);
  assert.equal(fs.readFileSync(path.join(ctrl, 'conffiles'), 'utf8').trim(),
    '/etc/rushcast/rushcast.json');
  for (const script of ['postinst', 'prerm', 'postrm']) {
    const p = path.join(ctrl, script);
    assert.ok(fs.statSync(p).mode & 0o100, `${script} is executable`);
    assert.equal(run('sh', ['-n', p]).status, 0, `${script} parses`);
  }
  const postinst = fs.readFileSync(path.join(ctrl, 'postinst'), 'utf8');
  assert.match(postinst, /adduser --system/);
  assert.doesNotMatch(postinst, /nginx|sites-enabled/, 'the postinst enables no nginx site');
  assert.equal(fs.readFileSync(path.join(root, 'lib/systemd/system/rushcast.service'), 'utf8'),
    fs.readFileSync(UNIT, 'utf8'));
});
