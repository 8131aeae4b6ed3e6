"""The everyday provisioning script of a GitLab shop, written against
python-gitlab and run unchanged against gitgate (docs/api.md).

Environment: GITGATE_URL (the server's external URL), GITGATE_ADMIN_TOKEN
(an admin's token with the api scope), GITGATE_BOT_KEY (an OpenSSH public
key) and GITGATE_BOT_KEY_FINGERPRINT (its SHA256 fingerprint). Every step
prints one "ok:" line; the first failure raises, which ends the script
with a traceback and a non-zero status.
"""

import os
import subprocess
import tempfile

import gitlab

url = os.environ["GITGATE_URL"]
token = os.environ["GITGATE_ADMIN_TOKEN"]
bot_key = os.environ["GITGATE_BOT_KEY"]


def ok(what):
    print("ok: " + what, flush=True)


gl = gitlab.Gitlab(url, private_token=token, retry_transient_errors=False)
gl.auth()
assert gl.user.is_admin, "the token's user is not an admin"
ok("authenticated as %s" % gl.user.username)

bot = gl.users.create({
    "email": "deploy-bot@example.com",
    "username": "deploy-bot",
    "name": "Deploy Bot",
    "force_random_password": True,
    "skip_confirmation": True,
})
ok("created user %s (id %d)" % (bot.username, bot.id))

key = bot.keys.create({"title": "ci runner", "key": bot_key})
assert key.title == "ci runner", key
assert [k.id for k in bot.keys.list()] == [key.id], "the bot's keys"
found = gl.keys.get(fingerprint=os.environ["GITGATE_BOT_KEY_FINGERPRINT"])
assert found.id == key.id and found.user["username"] == "deploy-bot", found
ok("added an SSH key for the bot (id %d) and found its owner by fingerprint" % key.id)

group = gl.groups.create({"name": "Platform", "path": "platform", "visibility": "private"})
assert group.full_path == "platform", group.full_path
sub = gl.groups.create({"name": "Tools", "path": "tools", "parent_id": group.id})
assert sub.full_path == "platform/tools", sub.full_path
assert gl.groups.get("platform/tools").id == sub.id
assert [g.id for g in group.subgroups.list()] == [sub.id]
ok("created group %s and subgroup %s" % (group.full_path, sub.full_path))

ns = [n for n in gl.namespaces.list(search="platform", get_all=True) if n.full_path == "platform/tools"]
assert len(ns) == 1 and ns[0].kind == "group", ns
ok("found the subgroup's namespace (id %d)" % ns[0].id)

project = gl.projects.create({"name": "deployer", "namespace_id": sub.id, "visibility": "private"})
assert project.path_with_namespace == "platform/tools/deployer", project.path_with_namespace
project.members.create({"user_id": bot.id, "access_level": gitlab.const.DEVELOPER_ACCESS})
assert [p.id for p in sub.projects.list()] == [project.id]
ok("created project %s with the bot as developer" % project.path_with_namespace)

# A first commit, pushed with git and the same token (oauth2 as GitLab's
# documentation spells it).
with tempfile.TemporaryDirectory() as work:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", HOME=work)
    def git(*args):
        subprocess.run(["git", "-C", work] + list(args), check=True, env=env,
                       stdout=subprocess.DEVNULL)
    git("init", "-q", "-b", "main")
    with open(os.path.join(work, "README.md"), "w") as f:
        f.write("# deployer\n\nProvisioned by python-gitlab.\n")
    git("add", "README.md")
    git("-c", "user.name=Provisioner", "-c", "user.email=prov@example.com", "commit", "-q", "-m", "First commit")
    remote = url.replace("://", "://oauth2:%s@" % token, 1) + "/platform/tools/deployer.git"
    git("push", "-q", remote, "main")
ok("pushed the first commit")

pb = project.protectedbranches.create({"name": "release/*", "push_access_level": gitlab.const.MAINTAINER_ACCESS,
                                        "merge_access_level": gitlab.const.MAINTAINER_ACCESS})
assert pb.name == "release/*", pb.name
assert pb.push_access_levels[0]["access_level"] == gitlab.const.MAINTAINER_ACCESS, pb.push_access_levels
names = sorted(p.name for p in project.protectedbranches.list())
assert "release/*" in names, names
ok("protected release/* (%s)" % ", ".join(names))

project.branches.create({"branch": "release/1.0", "ref": "main"})
branches = {b.name: b for b in project.branches.list()}
assert set(branches) == {"main", "release/1.0"}, sorted(branches)
assert branches["release/1.0"].protected, "release/1.0 is not shown as protected"
assert branches["main"].default, "main is not shown as the default branch"
ok("listed branches: %s" % ", ".join(sorted(branches)))

raw = project.files.raw(file_path="README.md", ref="main")
assert raw == b"# deployer\n\nProvisioned by python-gitlab.\n", raw
f = project.files.get(file_path="README.md", ref="main")
assert f.decode() == raw, "files.get content"
ok("read README.md raw (%d bytes) and as JSON" % len(raw))

print("python-gitlab smoke: all steps passed", flush=True)
