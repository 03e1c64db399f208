using System.Diagnostics;

namespace ControlPlane.Benchmarks.Processes;

/// <summary>What every server the benchmarks start in a process of its own needs alike.</summary>
internal static class ChildProcess
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Kills <paramref name="process"/> and its children and waits for them; safe to call more than once, or after it exited.</summary>
    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(StopTimeout);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}
