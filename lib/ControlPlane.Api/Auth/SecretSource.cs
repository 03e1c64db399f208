namespace ControlPlane.Api.Auth;

/// <summary>
/// Reads a secret the way every token of this server is read: from the file named by
/// <c>fileVariable</c> when it is set (it wins), else from <c>variable</c>; never from the command
/// line or configuration files.
/// </summary>
public static class SecretSource
{
    /// <summary>The secret (null when neither is set) and where it came from (safe to log).</summary>
    public static (string? Value, string Source) Read(string variable, string fileVariable, Func<string, string?>? getVariable = null)
    {
        getVariable ??= Environment.GetEnvironmentVariable;
        var file = getVariable(fileVariable);
        return string.IsNullOrEmpty(file) ? (getVariable(variable), variable) : (ReadFile(fileVariable, file), fileVariable);
    }

    /// <summary>
    /// The secret in <paramref name="file"/> (named by <paramref name="fileVariable"/>), without the
    /// trailing newline secret mounts and editors add; <see cref="InvalidOperationException"/> naming the
    /// variable when it cannot be read or is empty.
    /// </summary>
    public static string ReadFile(string fileVariable, string file)
    {
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"{fileVariable} names '{file}', which cannot be read: {ex.Message}", ex);
        }
        var secret = text.TrimEnd('\r', '\n');
        return secret.Length > 0 ? secret : throw new InvalidOperationException($"{fileVariable} names '{file}', which is empty.");
    }
}
