namespace ControlPlane.System.Tests.Infrastructure;

/// <summary>
/// Runs a test's body with a deadline; when it fails, the output every involved process wrote during
/// the test is attached to the result (and printed), since the failure is often only explained there.
/// </summary>
internal static class Scenario
{
    /// <summary>Longest a single scenario may take before it fails (a hang must not hang the run).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private const int PrintedLines = 80;

    public static async Task RunAsync(Func<IEnumerable<ChildProcess>> processes, Func<Task> body)
    {
        var marks = processes().ToDictionary(p => p, p => p.LineCount);
        try
        {
            await body().WaitAsync(Timeout);
        }
        catch
        {
            Attach(processes().Concat(marks.Keys).Distinct(), marks);
            throw;
        }
    }

    private static void Attach(IEnumerable<ChildProcess> processes, Dictionary<ChildProcess, int> marks)
    {
        var context = TestContext.Current;
        foreach (var process in processes)
        {
            var lines = process.LinesSince(marks.GetValueOrDefault(process));
            try
            {
                context.AddAttachment($"{process.Name}-{process.Id}.log", string.Join(Environment.NewLine, lines));
            }
            catch (InvalidOperationException)
            {
                // attachments only while a test runs, and once per name: printing below still shows it
            }
            context.TestOutputHelper?.WriteLine($"---- {process.Name} (pid {process.Id}{(process.HasExited ? ", exited" : "")}), last {Math.Min(lines.Count, PrintedLines)} of {lines.Count} lines during the test");
            foreach (var line in lines.TakeLast(PrintedLines))
            {
                context.TestOutputHelper?.WriteLine(line);
            }
        }
    }
}
