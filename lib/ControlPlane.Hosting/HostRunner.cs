using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace ControlPlane.Hosting;

/// <summary>How every process of the project starts and runs until it is told to stop.</summary>
public static class HostRunner
{
    /// <summary>
    /// Builds and starts the host, then runs it until shutdown. A process that cannot start (invalid
    /// configuration, a port already in use) prints one line on standard error and exits with code 1,
    /// instead of an unhandled exception's stack trace and an abort: what an operator needs is the
    /// message. Errors once the host runs are the host's own (logged, then it stops).
    /// </summary>
    public static int Run(string name, Func<WebApplication> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        WebApplication? app = null;
        try
        {
            app = build();
            app.Start();
        }
        catch (Exception e) when (e is InvalidOperationException or OptionsValidationException or IOException)
        {
            Console.Error.WriteLine($"{name}: cannot start: {e.Message}");
            ((IDisposable?)app)?.Dispose();
            return 1;
        }
        app.WaitForShutdown();
        ((IDisposable)app).Dispose();
        return 0;
    }
}
