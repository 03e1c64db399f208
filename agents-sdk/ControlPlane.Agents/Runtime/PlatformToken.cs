namespace ControlPlane.Agents.Runtime;

/// <summary>
/// Reads the platform token as the control plane and the SDK do: from the file named by the file
/// variable when that is set (it wins; a trailing newline is not part of it), else from the variable.
/// Never from a flag. The value is only used to redact it: the SDK reads it itself for the calls.
/// </summary>
internal static class PlatformToken
{
    /// <summary>The token, or null when neither variable is set; <see cref="ArgumentException"/> when the named file cannot be read or is empty.</summary>
    public static string? Read(string variable, string fileVariable, Func<string, string?> getVariable)
    {
        if (getVariable(fileVariable) is { Length: > 0 } file)
        {
            try
            {
                return ControlPlane.Api.Auth.SecretSource.ReadFile(fileVariable, file);
            }
            catch (InvalidOperationException ex)
            {
                throw new ArgumentException(ex.Message, ex); // a configuration problem to the agents (exit 2)
            }
        }
        return getVariable(variable) is { Length: > 0 } value ? value.Trim() : null;
    }
}
