namespace ControlPlane.TestCommon;

/// <summary>
/// Tests that need an external peer (python grpcio, buf, redis-server ...) skip when it is missing
/// on a developer's machine, but fail in CI (CI=true), where .ci/run installs every peer.
/// </summary>
public static class ExternalTools
{
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Returns <paramref name="path"/> when it exists; otherwise skips (or fails in CI).</summary>
    public static string Require(string path, string howToInstall)
    {
        if (File.Exists(path))
        {
            return path;
        }
        Unavailable($"{path} is missing: {howToInstall}");
        return path;
    }

    /// <summary>Skips the test, or fails it in CI, where every peer must be installed.</summary>
    public static void Unavailable(string message)
    {
        if (InCi)
        {
            Xunit.Assert.Fail("Required in CI: " + message);
        }
        Xunit.Assert.Skip(message);
    }

    /// <summary>Finds an executable on PATH or under the repo's node_modules/.bin (npm-installed tools).</summary>
    public static string? Find(string name)
    {
        var repo = RepoRoot();
        var local = Path.Combine(repo, "node_modules", ".bin", name);
        if (File.Exists(local))
        {
            return local;
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            var candidate = Path.Combine(dir, name);
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    public static string RequireOnPath(string name, string howToInstall)
    {
        var found = Find(name);
        return found ?? Require(Path.Combine(RepoRoot(), "node_modules", ".bin", name), howToInstall);
    }

    /// <summary>The repository root: the folder holding ControlPlane.sln.</summary>
    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ControlPlane.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("ControlPlane.sln not found above " + AppContext.BaseDirectory);
    }
}
