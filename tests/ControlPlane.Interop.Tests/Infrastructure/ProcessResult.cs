namespace ControlPlane.Interop.Tests.Infrastructure;

/// <summary>How a finished command ended; <see cref="Description"/> shows the command and all its output.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError, string Description)
{
    public override string ToString() => $"exit code {ExitCode}{Environment.NewLine}{Description}";
}
