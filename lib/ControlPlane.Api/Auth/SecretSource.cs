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
        if (string.IsNullOrEmpty(file))
        {
            return (getVariable(variable), variable);
        }
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"{fileVariable} names '{file}', which cannot be read: {ex.Message}", ex);
        }
        // Secret mounts and editors often end the file with a newline that is not part of the secret.
        var secret = text.TrimEnd('\r', '\n');
        if (secret.Length == 0)
        {
            throw new InvalidOperationException($"{fileVariable} names '{file}', which is empty.");
        }
        return (secret, fileVariable);
    }
}
