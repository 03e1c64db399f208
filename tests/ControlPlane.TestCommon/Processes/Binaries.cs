namespace ControlPlane.TestCommon.Processes;

/// <summary>
/// The programs under test, as the solution built them: each in its own project's output folder
/// (same configuration as this test assembly), run with <c>dotnet X.dll</c>.
/// </summary>
public static class Binaries
{
    public static string ControlPlane => Find("controlplane/ControlPlane.Server", "ControlPlane.Server.dll");

    public static string Dataplane => Find("dataplane/ControlPlane.Dataplane", "ControlPlane.Dataplane.dll");

    public static string Backend => Find("tests/ControlPlane.TestBackend", "ControlPlane.TestBackend.dll");

    public static string Cpctl => Find("agents-sdk/cpctl", "cpctl.dll");

    /// <summary>Debug or Release: the folder this test assembly was built into (bin/{configuration}/net10.0).</summary>
    private static string Configuration => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    private static string Find(string project, string assembly)
    {
        var path = Path.Combine(ExternalTools.RepoRoot(), project, "bin", Configuration, "net10.0", assembly);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} is missing: build the solution first (dotnet build ControlPlane.sln)", path);
        }
        return path;
    }
}
