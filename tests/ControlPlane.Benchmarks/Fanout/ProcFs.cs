using System.Globalization;

namespace ControlPlane.Benchmarks.Fanout;

/// <summary>What Linux's /proc says about the machine and the processes of the benchmark.</summary>
internal static class ProcFs
{
    /// <summary>The 1, 5 and 15 minute load averages ("1.60 2.84 4.36"), or "unknown".</summary>
    public static string LoadAverage()
    {
        try
        {
            var fields = File.ReadAllText("/proc/loadavg").Split(' ');
            return string.Join(' ', fields.Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    /// <summary>The resident set size of process <paramref name="pid"/> in bytes (VmRSS in /proc/&lt;pid&gt;/status).</summary>
    public static long ResidentBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            // VmRSS:	   41234 kB
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = line["VmRSS:".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException($"/proc/{pid}/status has no VmRSS line.");
    }

    /// <summary>CPU time (user and system) process <paramref name="pid"/> has used, from /proc/&lt;pid&gt;/stat, at its 10 ms resolution.</summary>
    public static TimeSpan CpuTime(int pid)
    {
        // pid (comm) state ppid ... utime stime: fields 14 and 15, counted from pid; comm may hold spaces.
        const double TicksPerSecond = 100; // USER_HZ, 100 on every Linux architecture .NET runs on
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    /// <summary>The number of threads of process <paramref name="pid"/>.</summary>
    public static int Threads(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                return int.Parse(line["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }

    /// <summary>Open file descriptors of process <paramref name="pid"/>.</summary>
    public static int OpenFiles(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;

    /// <summary>
    /// Established TCP connections on this machine whose remote end is port <paramref name="port"/>
    /// (the client sides of the connections to a server listening there), from /proc/net/tcp and tcp6.
    /// </summary>
    public static int EstablishedConnectionsTo(int port)
    {
        const string Established = "01";
        var count = 0;
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
            {
                continue;
            }
            // sl local_address rem_address st ...:  "0: 0100007F:A1B2 0100007F:0929 01 ..."
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 4 || fields[3] != Established)
                {
                    continue;
                }
                var remote = fields[2];
                var remotePort = int.Parse(remote[(remote.LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (remotePort == port)
                {
                    count++;
                }
            }
        }
        return count;
    }
}
