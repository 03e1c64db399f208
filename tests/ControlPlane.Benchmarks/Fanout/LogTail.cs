namespace ControlPlane.Benchmarks.Fanout;

/// <summary>The last lines a child server printed, for the error message when it fails to start or exits.</summary>
internal sealed class LogTail(int keep = 40)
{
    private readonly Queue<string> _lines = new();

    public void Add(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_lines)
        {
            _lines.Enqueue(line);
            while (_lines.Count > keep)
            {
                _lines.Dequeue();
            }
        }
    }

    public override string ToString()
    {
        lock (_lines)
        {
            return string.Join(Environment.NewLine, _lines);
        }
    }
}
