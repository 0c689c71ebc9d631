"""The canned data the fake service starts from (and reset() restores): dialogs, their
messages, resumes and recommended candidates, as the site shows them."""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]

DIALOGS: list[JsonDict] = [
    {
        "chat_id": "c1",
        "name": "Alice Zhang",
        "last_message": "Thanks! When could we have a call?",
        "unread": 2,
        "updated_at": "2026-11-23T09:15:00Z",
    },
    {
        "chat_id": "c2",
        "name": "Bob Li",
        "last_message": "I have attached my resume.",
        "unread": 1,
        "updated_at": "2026-11-23T08:40:00Z",
    },
    {
        "chat_id": "c3",
        "name": "Carol Wang",
        "last_message": "Sounds good, talk tomorrow.",
        "unread": 0,
        "updated_at": "2026-11-22T17:05:00Z",
    },
    {
        "chat_id": "c4",
        "name": "David Chen",
        "last_message": "Hello, is the position still open?",
        "unread": 0,
        "updated_at": "2026-11-21T11:30:00Z",
    },
]


def _message(sender: str, text: str, at: str) -> JsonDict:
    return {"from": sender, "text": text, "time": at}


MESSAGES: dict[str, list[JsonDict]] = {
    "c1": [
        _message("me", "Hi Alice, your profile fits our backend role.", "2026-11-23T09:01:00Z"),
        _message("candidate", "Hi, thanks for reaching out!", "2026-11-23T09:12:00Z"),
        _message("candidate", "Thanks! When could we have a call?", "2026-11-23T09:15:00Z"),
    ],
    "c2": [
        _message("me", "Could you send your resume?", "2026-11-23T08:30:00Z"),
        _message("candidate", "I have attached my resume.", "2026-11-23T08:40:00Z"),
    ],
    "c3": [
        _message("candidate", "Is a call tomorrow at 10 possible?", "2026-11-22T16:50:00Z"),
        _message("me", "Yes, 10:00 works.", "2026-11-22T17:00:00Z"),
        _message("candidate", "Sounds good, talk tomorrow.", "2026-11-22T17:05:00Z"),
    ],
    "c4": [_message("candidate", "Hello, is the position still open?", "2026-11-21T11:30:00Z")],
}

RESUMES: dict[str, JsonDict] = {
    "c1": {
        "name": "Alice Zhang",
        "age": 29,
        "city": "Shanghai",
        "title": "Backend Engineer",
        "experience_years": 6,
        "education": "B.Sc. Computer Science, Fudan University",
        "skills": ["Python", "PostgreSQL", "Kubernetes"],
        "work_history": ["2021-2026 Backend Engineer, Meituan", "2019-2021 Developer, Ctrip"],
    },
    "c2": {
        "name": "Bob Li",
        "age": 34,
        "city": "Beijing",
        "title": "Data Engineer",
        "experience_years": 10,
        "education": "M.Sc. Statistics, Peking University",
        "skills": ["Spark", "SQL", "Airflow"],
        "work_history": ["2018-2026 Data Engineer, JD.com", "2015-2018 Analyst, Baidu"],
    },
    "c3": {
        "name": "Carol Wang",
        "age": 26,
        "city": "Hangzhou",
        "title": "Frontend Engineer",
        "experience_years": 3,
        "education": "B.Eng. Software Engineering, Zhejiang University",
        "skills": ["TypeScript", "React"],
        "work_history": ["2023-2026 Frontend Engineer, Alibaba"],
    },
}

CANDIDATES: list[JsonDict] = [
    {"index": index, "name": name, "title": title, "experience_years": years, "city": city}
    for index, (name, title, years, city) in enumerate(
        [
            ("Eva Liu", "Python Developer", 5, "Shenzhen"),
            ("Frank Zhou", "Go Engineer", 8, "Beijing"),
            ("Grace Huang", "SRE", 4, "Shanghai"),
            ("Henry Sun", "Backend Engineer", 7, "Chengdu"),
            ("Ivy Xu", "Data Scientist", 2, "Hangzhou"),
        ]
    )
]
